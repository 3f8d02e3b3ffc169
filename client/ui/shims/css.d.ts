// CSS files imported by UI components arrive as text (esbuild's `text` loader), ready for
// Lit's unsafeCSS.
declare module '*.css' {
  const text: string;
  export default text;
}

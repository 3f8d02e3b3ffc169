// Types of the `process` package's browser shim (the package ships none).
declare module 'process/browser.js' {
  interface BrowserProcess {
    nextTick: (callback: (...args: unknown[]) => void, ...args: unknown[]) => void;
    env: Record<string, string | undefined>;
    browser: boolean;
    title: string;
    argv: string[];
    version: string;
    versions: Record<string, string>;
    cwd(): string;
  }
  const process: BrowserProcess;
  export default process;
}

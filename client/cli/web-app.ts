/**
 * The web app build the CLI hands to the server (createAppServer's `buildApp`): the server
 * serves a folder and imports nothing from client/, so whoever starts it builds the app
 * first, and only when an input changed (client/ui/build.ts's ensureWebApp).
 *
 * @example
 * const server = await createAppServer({ buildApp: buildWebAppInto });
 */
export async function buildWebAppInto(appDir: string): Promise<string> {
  const { ensureWebApp } = await import('../ui/build.ts');
  await ensureWebApp(appDir);
  return appDir;
}

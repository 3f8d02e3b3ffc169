/**
 * The `liec` command: one binary for every headless use.
 *
 *   liec serve  [--port 8080] [--host 0.0.0.0]        the signaling server (and web app)
 *   liec create --server URL [config flags]            create a session, print id and token
 *   liec join   --server URL --session ID --token T    run a headless peer
 *   liec demo   [--peers 4] [--rounds 300]             everything on loopback (npm start)
 */
import { pathToFileURL } from 'node:url';
import { main as serveMain } from '../../signaling/main.ts';
import { create } from './create.ts';
import { demo } from './demo.ts';
import { join } from './join.ts';

export const USAGE = `usage: liec <serve|create|join|demo> [options]   (liec <command> --help)`;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const server = await serveMain([...rest]);
      console.log(`signaling server listening at ${server.url}`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.stop();
      return 0;
    }
    case 'create':
      return create(rest);
    case 'join':
      return join(rest);
    case 'demo':
      return demo(rest);
    default:
      console.error(USAGE);
      return command === undefined || command === '--help' ? 0 : 2;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}

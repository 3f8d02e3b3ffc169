/**
 * bench/process-tree-memory.ts on real processes: a "browser" (a Node process whose command
 * line names a profile folder) with a child started with --type=renderer is found with its
 * child and their memory; a process naming a longer folder of the same prefix is not.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { test } from 'node:test';
import { browserProcesses } from '../../bench/process-tree-memory.ts';

const IDLE = 'setInterval(() => {}, 1000)';
/** Upper bound for the child to be running its own command line. */
const READY_TIMEOUT_MS = 5000;
/** Starts a child with --type=renderer (the flag built at run time: this command line must not hold it). */
const PARENT = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, ['-e', '${IDLE}', '--', '--ty' + 'pe=renderer'], { stdio: 'ignore' });
process.stdout.write(String(child.pid) + '\\n');
process.on('SIGTERM', () => { child.kill(); process.exit(0); });
${IDLE};
`;

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
}

test(
  'browserProcesses finds a browser by its profile folder, with its descendants and their memory',
  { skip: existsSync('/proc/self/status') ? undefined : 'SKIPPED: needs Linux /proc' },
  async (t) => {
    const profile = `/tmp/liec-process-tree-${process.pid}`;
    const browser = start(['-e', PARENT, '--', `--user-data-dir=${profile}`]);
    const other = start(['-e', IDLE, '--', `--user-data-dir=${profile}-other`]);
    t.after(() => {
      browser.kill();
      other.kill();
    });
    const [line] = (await once(browser.stdout!, 'data')) as [Buffer];
    const rendererPid = Number(line.toString('utf8').trim());
    assert.ok(Number.isInteger(rendererPid) && rendererPid > 0, `renderer pid ${line.toString()}`);

    // The child's pid is known at fork, its own command line once exec'd: wait for that.
    const deadline = performance.now() + READY_TIMEOUT_MS;
    let found = await browserProcesses(profile);
    while (!found.some((p) => p.pid === rendererPid && p.type === 'renderer')) {
      assert.ok(performance.now() < deadline, `renderer ${rendererPid} not seen: ${JSON.stringify(found)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      found = await browserProcesses(profile);
    }
    assert.deepEqual(
      found.map((p) => [p.pid, p.type]).sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [browser.pid, 'browser'],
        [rendererPid, 'renderer'],
      ].sort((a, b) => Number(a[0]) - Number(b[0])),
    );
    for (const p of found) {
      assert.ok(p.rssBytes > 1024 * 1024, `${p.type} RSS ${p.rssBytes}`);
      assert.ok(p.hwmBytes >= p.rssBytes, `${p.type} HWM ${p.hwmBytes} >= RSS ${p.rssBytes}`);
      assert.ok(p.pssBytes === null || (p.pssBytes > 0 && p.pssBytes <= p.rssBytes), `${p.type} PSS`);
    }
    assert.deepEqual(await browserProcesses('/tmp/liec-process-tree-none'), []);
  },
);

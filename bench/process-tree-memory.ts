/**
 * Memory of a process tree from Linux's /proc, for bench/tab-memory.ts: a browser process
 * found by its profile folder and its descendants, each with VmRSS and VmHWM
 * (/proc/PID/status) and Pss (/proc/PID/smaps_rollup: shared pages split between the
 * processes that map them, so a sum over the tree counts them once).
 *
 * @example
 * const processes = await browserProcesses('/tmp/liec-tab-memory-abc');
 * const renderers = processes.filter((p) => p.type === 'renderer');
 */
import { readdir, readFile } from 'node:fs/promises';

export interface ProcessSample {
  pid: number;
  type: string;
  rssBytes: number;
  hwmBytes: number;
  pssBytes: number | null;
}

/** `/proc/PID/status` and smaps_rollup figures of one process, or null when it is gone. */
export async function readProcess(pid: number, type: string): Promise<ProcessSample | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    let pssBytes: number | null = null;
    try {
      const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
      const pss = /^Pss:\s+(\d+) kB/m.exec(rollup)?.[1];
      pssBytes = pss === undefined ? null : Number(pss) * 1024;
    } catch {
      // smaps_rollup needs ptrace access; RSS alone then.
    }
    return { pid, type, rssBytes: kib('VmRSS') * 1024, hwmBytes: kib('VmHWM') * 1024, pssBytes };
  } catch {
    return null;
  }
}

/**
 * Every process of the Chromium started with `profile` as its user data folder: the browser
 * process (its command line names the folder and has no --type) and all its descendants, each
 * with its --type (renderer, gpu-process, utility, zygote; 'browser' for the root).
 */
export async function browserProcesses(profile: string): Promise<ProcessSample[]> {
  const parents = new Map<number, number>();
  const commands = new Map<number, string>();
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) may hold spaces; the parent pid is the second field after it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(pid, ppid);
      commands.set(pid, (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' '));
    } catch {
      // The process exited between readdir and read.
    }
  }
  const roots = [...commands].filter(
    ([, cmd]) => `${cmd} `.includes(`--user-data-dir=${profile} `) && !cmd.includes('--type='),
  );
  const members = new Set(roots.map(([pid]) => pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (!members.has(pid) && members.has(ppid)) {
        members.add(pid);
        grew = true;
      }
    }
  }
  const samples = await Promise.all(
    [...members].map((pid) =>
      readProcess(pid, /--type=([\w-]+)/.exec(commands.get(pid) ?? '')?.[1] ?? 'browser'),
    ),
  );
  return samples.filter((s): s is ProcessSample => s !== null);
}

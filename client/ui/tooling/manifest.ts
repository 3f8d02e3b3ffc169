/**
 * Build freshness: a manifest in the output folder records every input file of the build
 * (size and mtime) and every output. The build is fresh when every input still matches and
 * every output exists; otherwise it is rebuilt. Writes are atomic (temp file, then rename),
 * so a server reading the folder never sees half a file.
 *
 * @example
 * if (!(await isManifestFresh(outDir))) await buildWebApp(outDir);
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const MANIFEST_NAME = 'build-manifest.json';
/** Bumped when the build's procedure changes in a way input fingerprints cannot see. */
export const MANIFEST_VERSION = 1;

const manifestSchema = z.object({
  version: z.literal(MANIFEST_VERSION),
  /** Absolute input path to its fingerprint. */
  inputs: z.record(z.string(), z.string()),
  /** Output file names, relative to the output folder. */
  outputs: z.array(z.string()),
});
export type BuildManifest = z.infer<typeof manifestSchema>;

/** "size:mtimeMs" of a file, or undefined when it does not exist. */
export async function fingerprint(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return undefined;
  }
}

export async function createManifest(inputs: Iterable<string>, outputs: string[]): Promise<BuildManifest> {
  const entries = await Promise.all(
    [...new Set(inputs)].map(async (path) => [path, (await fingerprint(path)) ?? 'missing'] as const),
  );
  return { version: MANIFEST_VERSION, inputs: Object.fromEntries(entries), outputs };
}

/** True when the folder holds a manifest whose inputs are unchanged and outputs all exist. */
export async function isManifestFresh(outDir: string): Promise<boolean> {
  let manifest: BuildManifest;
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(await readFile(join(outDir, MANIFEST_NAME), 'utf8')));
    if (!parsed.success) return false;
    manifest = parsed.data;
  } catch {
    return false;
  }
  const checks = [
    ...Object.entries(manifest.inputs).map(async ([path, print]) => (await fingerprint(path)) === print),
    ...manifest.outputs.map(async (name) => (await fingerprint(join(outDir, name))) !== undefined),
  ];
  return (await Promise.all(checks)).every(Boolean);
}

/** Writes a file atomically: a temporary sibling, then a rename over the target. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, data);
  await rename(temp, path);
}

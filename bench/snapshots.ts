/**
 * Model snapshots for the exact time to accuracy of bench:links: the aggregator's peer process
 * appends one record per round it closes (bench/link-peer.ts `--snapshots FILE`), and the bench
 * evaluates them after the run, outside the timed session (bench/snapshot-eval.ts). The
 * session itself evaluates only every evalEvery rounds, so its time to 90% is quantized.
 *
 * Record layout, little-endian, one after another in the file:
 *   0  uint32  magic 0x50414e53 ("SNAP")
 *   4  uint32  round
 *   8  uint32  term
 *   12 uint32  n, the model's length in floats
 *   16 float64 closedAt (ms since the epoch, the round event's clock)
 *   24 float32 x n, the model
 *
 * @example
 * const fd = openSync(file, 'a');
 * appendSnapshot(fd, { round: 3, term: 1, closedAt: 1.7e12, model });
 * const { snapshots } = decodeSnapshots(readFileSync(file));
 * const search = firstReaching(snapshots, 0.9, (s) => learner.evaluate(s.model).accuracy, () => null);
 */
import { writevSync } from 'node:fs';

export const SNAPSHOT_MAGIC = 0x50414e53;
export const SNAPSHOT_HEADER_BYTES = 24;

export interface Snapshot {
  round: number;
  term: number;
  /** When the round's broadcast went out, ms since the epoch (RoundRecord.closedAt). */
  closedAt: number;
  model: Float32Array;
}

export type SnapshotErrorCode = 'SNAPSHOT_CORRUPT'; // a record does not start with the magic

export class SnapshotError extends Error {
  readonly code: SnapshotErrorCode;
  constructor(code: SnapshotErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'SnapshotError';
    this.code = code;
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One record as two buffers (header, model bytes): written with one writev, no copy of the model on little-endian hosts. */
export function encodeSnapshot(snapshot: Snapshot): [Uint8Array, Uint8Array] {
  const header = new DataView(new ArrayBuffer(SNAPSHOT_HEADER_BYTES));
  header.setUint32(0, SNAPSHOT_MAGIC, true);
  header.setUint32(4, snapshot.round, true);
  header.setUint32(8, snapshot.term, true);
  header.setUint32(12, snapshot.model.length, true);
  header.setFloat64(16, snapshot.closedAt, true);
  const { model } = snapshot;
  if (LITTLE_ENDIAN_HOST)
    return [new Uint8Array(header.buffer), new Uint8Array(model.buffer, model.byteOffset, model.byteLength)];
  const body = new DataView(new ArrayBuffer(model.length * 4));
  model.forEach((value, i) => body.setFloat32(i * 4, value, true));
  return [new Uint8Array(header.buffer), new Uint8Array(body.buffer)];
}

/** Appends one record to an open file (synchronously: it runs inside the timed session, and is cheap). */
export function appendSnapshot(fd: number, snapshot: Snapshot): void {
  writevSync(fd, encodeSnapshot(snapshot));
}

/**
 * Every whole record of a snapshot file. A record cut short at the end (the process was
 * killed while writing it) is left out and counted in truncatedBytes; anything else that is
 * not a record throws SnapshotError SNAPSHOT_CORRUPT.
 */
export function decodeSnapshots(bytes: Uint8Array): { snapshots: Snapshot[]; truncatedBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const snapshots: Snapshot[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + SNAPSHOT_HEADER_BYTES > bytes.byteLength) break;
    const magic = view.getUint32(offset, true);
    if (magic !== SNAPSHOT_MAGIC)
      throw new SnapshotError(
        'SNAPSHOT_CORRUPT',
        `no record magic at byte ${offset} (0x${magic.toString(16)})`,
      );
    const length = view.getUint32(offset + 12, true);
    const end = offset + SNAPSHOT_HEADER_BYTES + length * 4;
    if (end > bytes.byteLength) break;
    const model = new Float32Array(length);
    const start = offset + SNAPSHOT_HEADER_BYTES;
    // The model may sit at an unaligned offset of the file's buffer: copy its bytes.
    if (LITTLE_ENDIAN_HOST) new Uint8Array(model.buffer).set(bytes.subarray(start, end));
    else for (let i = 0; i < length; i++) model[i] = view.getFloat32(start + i * 4, true);
    snapshots.push({
      round: view.getUint32(offset + 4, true),
      term: view.getUint32(offset + 8, true),
      closedAt: view.getFloat64(offset + 16, true),
      model,
    });
    offset = end;
  }
  return { snapshots, truncatedBytes: bytes.byteLength - offset };
}

/**
 * Records in closing order, each for a later round than the one before: drops a successor's
 * re-close of a round already closed (after the last round, peers leave one by one and each
 * may briefly become aggregator). The rule bench:links applies to its round records.
 */
export function progressing<T extends { round: number; closedAt: number }>(records: readonly T[]): T[] {
  const kept: T[] = [];
  for (const r of [...records].sort((a, b) => a.closedAt - b.closedAt)) {
    if (r.round > (kept.at(-1)?.round ?? -1)) kept.push(r);
  }
  return kept;
}

/** A round the session evaluated too: its accuracy there and the snapshot's. */
export interface CheckedRound {
  round: number;
  session: number;
  snapshot: number;
}

export interface ExactSearch<T> {
  /** The first snapshot (in progressing order) whose accuracy reached the target; null if none. */
  hit: T | null;
  /** Its accuracy (null without a hit). */
  hitAccuracy: number | null;
  /** Snapshots evaluated. */
  evaluated: number;
  /** Rounds the session evaluated as well, compared: equal accuracies show the snapshot is the evaluated model. */
  checked: CheckedRound[];
}

/**
 * Evaluates snapshots in progressing order until one reaches the target. Every round on the
 * way that the session evaluated too is compared (sessionAccuracy: null when it did not);
 * if none was, the search goes on to the first such round, so at least one is compared when
 * the session evaluated any.
 */
export function firstReaching<T extends { round: number; closedAt: number }>(
  snapshots: readonly T[],
  target: number,
  evaluate: (snapshot: T) => number,
  sessionAccuracy: (snapshot: T) => number | null,
): ExactSearch<T> {
  const search: ExactSearch<T> = { hit: null, hitAccuracy: null, evaluated: 0, checked: [] };
  for (const snapshot of progressing(snapshots)) {
    const session = sessionAccuracy(snapshot);
    if (search.hit !== null && (search.checked.length > 0 || session === null)) continue;
    const accuracy = evaluate(snapshot);
    search.evaluated++;
    if (session !== null) search.checked.push({ round: snapshot.round, session, snapshot: accuracy });
    if (search.hit === null && accuracy >= target) {
      search.hit = snapshot;
      search.hitAccuracy = accuracy;
    }
    if (search.hit !== null && search.checked.length > 0) break;
  }
  return search;
}

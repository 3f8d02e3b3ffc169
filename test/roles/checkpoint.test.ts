/**
 * Checkpoint files: round trip, every truncation and corruption rejected with a code, and
 * atomic writes: processes SIGKILLed at random moments while they write checkpoints back to
 * back never leave a file that fails to parse, nor lose one they reported written.
 *
 * Run as a child with CHECKPOINT_WRITER_DIR set, this file is that writer instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import {
  assertResumable,
  CHECKPOINT_FILE,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpointFile,
  removeStaleTemps,
  writeCheckpointFile,
  type Checkpoint,
  type CheckpointErrorCode,
  type CheckpointState,
} from '../../client/roles/checkpoint-file.ts';
import { Checkpointer } from '../../client/roles/checkpoint.ts';
import { PeerEventEmitter } from '../../client/roles/events.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';

const config = parseSessionConfig({ rounds: 300, roundDeadlineMs: 2000 });

function sample(length: number, round: number, liec = true): Checkpoint {
  const model = Float32Array.from({ length }, (_, i) => Math.sin(i + round));
  return {
    sessionId: 'session-0001',
    peerId: 'w-1',
    config,
    round,
    term: 3,
    shard: 2,
    savedAt: 1_700_000_000_000 + round,
    reason: 'periodic',
    model,
    common: liec ? model.map((x) => x * 0.5) : null,
  };
}

function codeOf(action: () => unknown): CheckpointErrorCode | 'none' {
  try {
    action();
    return 'none';
  } catch (error) {
    if (error instanceof CheckpointError) return error.code;
    throw error; // anything else is a crash, and fails the test
  }
}

/** Re-signs bytes 48.. after tampering, so the checksum passes and validation is reached. */
function resign(bytes: Buffer): Buffer {
  createHash('sha256').update(bytes.subarray(48)).digest().copy(bytes, 16);
  return bytes;
}

const writerDir = process.env.CHECKPOINT_WRITER_DIR;
if (writerDir !== undefined) {
  // The child: writes full-size checkpoints back to back and reports each one written.
  for (let round = 1; ; round++) {
    await writeCheckpointFile(writerDir, sample(101_770, round));
    process.stdout.write(`${round}\n`);
  }
}

test('a checkpoint round-trips, with and without x_common', () => {
  for (const liec of [true, false]) {
    const original = sample(1000, 7, liec);
    const decoded = decodeCheckpoint(encodeCheckpoint(original));
    assert.deepEqual(decoded, original);
  }
});

test('every truncation and every single-byte corruption is rejected with a code, never a crash', () => {
  const bytes = Buffer.from(encodeCheckpoint(sample(64, 5)));
  for (let length = 0; length < bytes.length; length++) {
    const code = codeOf(() => decodeCheckpoint(bytes.subarray(0, length)));
    assert.ok(
      code === 'CHECKPOINT_TRUNCATED' || (length >= 8 && code === 'CHECKPOINT_BAD_MAGIC'),
      `length ${length}: ${code}`,
    );
  }
  assert.equal(
    codeOf(() => decodeCheckpoint(Buffer.concat([bytes, Buffer.from([0])]))),
    'CHECKPOINT_INVALID',
  );
  const seen = new Set<string>();
  for (let i = 0; i < bytes.length; i++) {
    const corrupt = Buffer.from(bytes);
    corrupt[i] = (corrupt[i] as number) ^ 0x41;
    const code = codeOf(() => decodeCheckpoint(corrupt));
    assert.notEqual(code, 'none', `a flip at byte ${i} went unnoticed`);
    if (i >= 48) assert.equal(code, 'CHECKPOINT_CHECKSUM', `byte ${i}`);
    seen.add(code);
  }
  assert.ok(seen.has('CHECKPOINT_BAD_MAGIC') && seen.has('CHECKPOINT_CHECKSUM'), [...seen].join());
});

test('metadata that fails its schema, or values that are not finite, are CHECKPOINT_INVALID', () => {
  const bytes = Buffer.from(encodeCheckpoint(sample(16, 5)));
  const metaLength = bytes.readUInt32LE(8);
  const meta = bytes.toString('utf8', 48, 48 + metaLength);
  const tampered = meta.replace('"round":5', '"round":-5');
  assert.notEqual(tampered, meta);
  const rebuilt = Buffer.concat([
    bytes.subarray(0, 48),
    Buffer.from(tampered),
    bytes.subarray(48 + metaLength),
  ]);
  rebuilt.writeUInt32LE(Buffer.byteLength(tampered), 8);
  assert.equal(
    codeOf(() => decodeCheckpoint(resign(rebuilt))),
    'CHECKPOINT_INVALID',
  );
  const notJson = Buffer.from(bytes);
  notJson[48] = 0x7e; // '~'
  assert.equal(
    codeOf(() => decodeCheckpoint(resign(notJson))),
    'CHECKPOINT_INVALID',
  );
  const nan = Buffer.from(bytes);
  nan.writeFloatLE(Number.NaN, 48 + metaLength + 4 * 3);
  assert.equal(
    codeOf(() => decodeCheckpoint(resign(nan))),
    'CHECKPOINT_INVALID',
  );
});

test('reading: a missing file, a corrupt file and a checkpoint of another config are named failures', async () => {
  const dir = await mkdtemp(joinPath(tmpdir(), 'liec-ckpt-'));
  try {
    await assert.rejects(readCheckpointFile(dir), { code: 'CHECKPOINT_NOT_FOUND' });
    await writeCheckpointFile(dir, sample(32, 9));
    const read = await readCheckpointFile(dir);
    assert.equal(read.round, 9);
    assert.doesNotThrow(() => assertResumable(read, config, 32));
    assert.throws(() => assertResumable(read, parseSessionConfig({ rounds: 301 }), 32), {
      code: 'CHECKPOINT_MISMATCH',
    });
    assert.throws(() => assertResumable(read, config, 33), { code: 'CHECKPOINT_MISMATCH' });
    await writeFile(joinPath(dir, CHECKPOINT_FILE), 'not a checkpoint at all, but long enough for a header');
    await assert.rejects(readCheckpointFile(dir), { code: 'CHECKPOINT_BAD_MAGIC' });
    await assert.rejects(readCheckpointFile(dir, 10), { code: 'CHECKPOINT_INVALID' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const SELF = fileURLToPath(import.meta.url);
const KILLS = 12;
const CONCURRENT = 4;

/** Starts a writer, SIGKILLs it `delayMs` after its first write; resolves with the last round it reported. */
function killWriterAfter(dir: string, delayMs: number): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    env: { ...process.env, CHECKPOINT_WRITER_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let reported = 0;
  let buffered = '';
  child.stdout.setEncoding('utf8');
  return new Promise((resolve) => {
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (reported === 0) setTimeout(() => child.kill('SIGKILL'), delayMs);
        reported = Number(line);
      }
    });
    child.once('exit', () => resolve(reported));
  });
}

test(
  'writers SIGKILLed at random moments while checkpointing leave a valid file every time',
  { timeout: 120_000 },
  async (t) => {
    const dirs = await Promise.all(
      Array.from({ length: CONCURRENT }, () => mkdtemp(joinPath(tmpdir(), 'liec-ckpt-kill-'))),
    );
    let strayTemps = 0;
    try {
      for (let batch = 0; batch < KILLS / CONCURRENT; batch++) {
        await Promise.all(
          dirs.map(async (dir, i) => {
            // Spread over a few writes' time, so kills land mid-write as well as between writes.
            const delayMs = ((batch * CONCURRENT + i) * 37) % 150;
            const reported = await killWriterAfter(dir, delayMs);
            assert.ok(reported > 0, 'the writer wrote at least once');
            const names = await readdir(dir);
            const temps = names.filter((n) => n.endsWith('.tmp')).length;
            strayTemps += temps;
            // The file parses and validates, and holds at least what was reported written.
            const read = await readCheckpointFile(dir);
            assert.ok(read.round >= reported, `file holds round ${read.round}, ${reported} reported`);
            assert.equal(read.model.length, 101_770);
            assert.equal(await removeStaleTemps(dir), temps);
          }),
        );
      }
      t.diagnostic(`${KILLS} kills, ${strayTemps} of them mid-write (a temp file left, removed)`);
    } finally {
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  },
);

test('the Checkpointer writes every N rounds at round boundaries, and the newest state on flush', async () => {
  const dir = await mkdtemp(joinPath(tmpdir(), 'liec-ckpt-every-'));
  const events = new PeerEventEmitter();
  let state: CheckpointState | null = null;
  const written: { round: number; reason: string }[] = [];
  const checkpointer = new Checkpointer(
    { events, peerId: 'w-1', config, checkpointState: () => state },
    { dir, sessionId: 'session-0001', everyRounds: 3, onWritten: (w) => written.push(w) },
  );
  checkpointer.start();
  try {
    // null: between a broadcast that asks for a sync and the sync, nothing is captured.
    for (const round of [1, 2, 3, 4, null, 5, 6]) {
      state = round === null ? null : { ...sample(8, round), round, term: 1, shard: 0 };
      events.publish('applied', { round: (round ?? 0) - 1, term: 1, counted: true });
      await checkpointer.settled();
    }
    assert.deepEqual(
      written.map((w) => [w.round, w.reason]),
      [
        [1, 'periodic'],
        [4, 'periodic'],
      ],
    );
    await checkpointer.flush(); // SIGTERM: the newest state, round 6
    assert.deepEqual([written.at(-1)?.round, written.at(-1)?.reason], [6, 'exit']);
    const read = await readCheckpointFile(dir);
    assert.deepEqual([read.round, read.reason, read.peerId], [6, 'exit', 'w-1']);
    await checkpointer.flush(); // nothing newer: no write
    assert.equal(written.length, 3);
  } finally {
    checkpointer.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("the Checkpointer lends a replaced state's vectors to the next capture; each file holds its own round's model", async () => {
  const dir = await mkdtemp(joinPath(tmpdir(), 'liec-ckpt-reuse-'));
  const events = new PeerEventEmitter();
  let round = 0;
  const vectors = new Set<Float32Array>();
  const written: number[] = [];
  // Like LocalState: the model's copy goes into the lent vector when there is one.
  const checkpointState = (reuse?: CheckpointState): CheckpointState => {
    const model = reuse?.model ?? new Float32Array(64);
    vectors.add(model);
    return { round, term: 1, shard: 0, model: model.fill(round), common: null };
  };
  const checkpointer = new Checkpointer(
    { events, peerId: 'w-1', config, checkpointState },
    { dir, sessionId: 'session-0001', everyRounds: 4, onWritten: (w) => written.push(w.round) },
  );
  checkpointer.start();
  try {
    for (round = 1; round <= 40; round++) {
      events.publish('applied', { round: round - 1, term: 1, counted: true });
      // A write in flight now and then: its state must not be lent meanwhile.
      if (round % 7 === 0) await checkpointer.settled();
    }
    round = 40;
    await checkpointer.flush();
    assert.ok(written.length >= 3, `writes at rounds ${written.join(', ')}`);
    assert.ok(vectors.size <= 3, `${vectors.size} model vectors for 40 captures`);
    const read = await readCheckpointFile(dir);
    assert.equal(read.round, 40);
    assert.ok(
      read.model.every((value) => value === 40),
      'the model written is the one of its round',
    );
  } finally {
    checkpointer.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

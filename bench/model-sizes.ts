/**
 * Bigger models in real sessions: for each model, one session of N headless peer processes
 * (built `liec join`, loopback WebRTC, default LIEC config but the model), and per peer its
 * peak memory (VmHWM), its time from spawn to the first round it was counted in, and where
 * a round's time goes (bench/round-breakdown.ts: gradient, encode, decode, wire, waiting).
 * Codec times come from this process on a gradient-sized vector of the model's size (same
 * codecs as the session, best of 5).
 *
 * @example
 * npm run bench:sizes                                   # mlp, mlp-large, mlp-xlarge; 4 peers
 * npm run bench:sizes -- --models mlp --rounds 30 --source   # peers from the TypeScript source
 */
import { Command, Option } from 'commander';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { integerIn, plainDefaults, processIo, runProgram, type CliIo } from '../client/cli/command.ts';
import { SignalingClient } from '../client/signaling/index.ts';
import { architecture, sizeOf, type ArchName } from '../client/training/architectures.ts';
import { parseCompressor } from '../shared/compress/index.ts';
import { type SessionConfigInput } from '../shared/protocol/session-config.ts';
import { CONSERVATIVE_LEARNING_DEFAULTS } from '../shared/defaults.ts';
import { createRng } from '../shared/random.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { spawnWatchedPeer } from './peer-process.ts';
import { median, roundBreakdown, type CodecTimes } from './round-breakdown.ts';
import { writeResult } from './rounds.ts';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'model-sizes.json');
const MODELS: readonly ArchName[] = ['mlp', 'mlp-large', 'mlp-xlarge'];
const CODEC_REPS = 5;

const summarySchema = z.object({
  peerId: z.string(),
  backend: z.string(),
  finalTestAccuracy: z.number().nullable(),
  timeline: z.object({
    rounds: z.array(
      z.object({
        round: z.number(),
        term: z.number(),
        closedAt: z.number(),
        computeMs: z.number(),
        evalMs: z.number(),
        counted: z.number(),
        participants: z.array(z.string()),
        sync: z.boolean(),
      }),
    ),
    applied: z.array(z.object({ round: z.number(), term: z.number(), at: z.number() })),
    uploads: z.array(
      z.object({
        round: z.number(),
        term: z.number(),
        kind: z.string(),
        resent: z.boolean(),
        computeMs: z.number(),
        at: z.number(),
      }),
    ),
  }),
});

export function sizesCommand(): Command {
  return plainDefaults(
    new Command('npm run bench:sizes --')
      .description('Real sessions per model size: peak memory, start-up and a per-round time breakdown.')
      .addOption(new Option('--models <list>', 'comma-separated model names').default(MODELS.join(',')))
      .addOption(
        new Option('--peers <n>', 'headless peers per session').argParser(integerIn(2, 64)).default(4),
      )
      .addOption(new Option('--rounds <n>', 'rounds per session').argParser(integerIn(5)).default(40))
      .addOption(new Option('--source', 'run the peers from the TypeScript source (tsx)').default(false))
      .addOption(
        new Option(
          '--silence-ms <ms>',
          "peers' --aggregator-silence-ms (a 10M-parameter gradient blocks the aggregator's event loop longer than the default 1500 ms)",
        ).argParser(integerIn(100)),
      )
      .addOption(new Option('--out <file>', 'result JSON').default(RESULTS)),
  );
}

interface SizesOptions {
  models: string;
  peers: number;
  rounds: number;
  source: boolean;
  silenceMs?: number;
  out: string;
}

/** Encode and decode times of the session's codecs on a vector of d gradient-like values. */
export function codecTimes(d: number, up: string, down: string): CodecTimes {
  const rng = createRng(7);
  const x = new Float32Array(d);
  for (let i = 0; i < d; i++) x[i] = rng.normal() * 1e-3;
  const time = (spec: string) => {
    const c = parseCompressor(spec);
    let payload = c.encode(x, 1);
    c.decode(payload, d);
    let encodeMs = Infinity;
    let decodeMs = Infinity;
    for (let r = 0; r < CODEC_REPS; r++) {
      let t = performance.now();
      payload = c.encode(x, 1);
      encodeMs = Math.min(encodeMs, performance.now() - t);
      t = performance.now();
      c.decode(payload, d);
      decodeMs = Math.min(decodeMs, performance.now() - t);
    }
    return { encodeMs, decodeMs };
  };
  const u = time(up);
  const w = time(down);
  return {
    encodeUpMs: u.encodeMs,
    decodeUpMs: u.decodeMs,
    encodeDownMs: w.encodeMs,
    decodeDownMs: w.decodeMs,
  };
}

async function runSession(model: ArchName, opts: SizesOptions) {
  const params = architecture(model).params.reduce((n, p) => n + sizeOf(p.shape), 0);
  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  const dir = await mkdtemp(join(tmpdir(), 'liec-bench-sizes-'));
  const loadBefore = loadavg()[0] ?? 0;
  try {
    const config: SessionConfigInput = {
      model,
      // One setting for every size, the 0.1M mlp's tuned default (2 local steps, sign values)
      // would not compare like for like.
      learningRate: CONSERVATIVE_LEARNING_DEFAULTS.learningRate,
      localSteps: CONSERVATIVE_LEARNING_DEFAULTS.localSteps,
      up: CONSERVATIVE_LEARNING_DEFAULTS.codec,
      down: CONSERVATIVE_LEARNING_DEFAULTS.codec,
      rounds: opts.rounds,
      minPeers: opts.peers,
      dataShards: opts.peers,
    };
    const client = new SignalingClient();
    await client.connect(server.url);
    const { sessionId, token } = await client.create(config);
    client.close();
    const peers = Array.from({ length: opts.peers }, (_, i) =>
      spawnWatchedPeer({
        server: server.url,
        sessionId,
        token,
        peerId: `peer-${i}`,
        dir,
        source: opts.source,
        args: opts.silenceMs === undefined ? [] : ['--aggregator-silence-ms', String(opts.silenceMs)],
      }),
    );
    const ends = await Promise.all(peers.map((p) => p.done));
    const loadAfter = loadavg()[0] ?? 0;
    const summaries = await Promise.all(
      peers.map(async (p) => summarySchema.parse(JSON.parse(await readFile(p.summaryPath, 'utf8')))),
    );
    const aggregator = summaries.find((s) => s.timeline.rounds.length > 0);
    if (aggregator === undefined) throw new Error(`${model}: no peer closed a round`);
    const rounds = aggregator.timeline.rounds;
    const perPeer = peers.map((p, i) => {
      const first = rounds.find((r) => r.participants.includes(p.peerId));
      return {
        peerId: p.peerId,
        exitCode: ends[i]?.code ?? null,
        peakRssMB: (ends[i]?.peakRssBytes ?? NaN) / 2 ** 20,
        /** From spawning the process to the broadcast of the first round that counted it. */
        startToFirstCountedSeconds: first === undefined ? null : (first.closedAt - p.spawnedAt) / 1000,
        role: summaries[i]?.peerId === aggregator.peerId ? 'aggregator' : 'worker',
      };
    });
    const codec = codecTimes(
      params,
      CONSERVATIVE_LEARNING_DEFAULTS.codec,
      CONSERVATIVE_LEARNING_DEFAULTS.codec,
    );
    const workers = summaries
      .filter((s) => s !== aggregator)
      .map((s) => ({ ...s.timeline, peerId: s.peerId }));
    const rows = roundBreakdown(rounds, workers, codec);
    const col = (k: 'wallMs' | 'gradientMs' | 'encodeMs' | 'decodeMs' | 'wireMs' | 'waitingMs') =>
      Math.round(median(rows.map((r) => r[k])) * 10) / 10;
    const closed = rounds.filter((r) => r.term === rounds[0]?.term);
    const span = (closed.at(-1)?.closedAt ?? 0) - (closed[0]?.closedAt ?? 0);
    return {
      model,
      params,
      peers: opts.peers,
      rounds: opts.rounds,
      source: opts.source ? 'typescript (tsx)' : 'build (dist/cli)',
      aggregatorSilenceMs: opts.silenceMs ?? null,
      /** Aggregator replacements: terms after the first. */
      aggregatorChanges: Math.max(...rounds.map((r) => r.term)) - (rounds[0]?.term ?? 1),
      backend: [...new Set(summaries.map((s) => s.backend))].join('/'),
      finalTestAccuracy: aggregator.finalTestAccuracy,
      roundsPerSecond: span > 0 ? ((closed.length - 1) * 1000) / span : null,
      breakdownMs: {
        wall: col('wallMs'),
        gradient: col('gradientMs'),
        encode: col('encodeMs'),
        decode: col('decodeMs'),
        wire: col('wireMs'),
        waiting: col('waitingMs'),
        roundsMeasured: rows.length,
      },
      codecMs: codec,
      peakRssMB: {
        max: Math.max(...perPeer.map((p) => p.peakRssMB)),
        median: median(perPeer.map((p) => p.peakRssMB)),
      },
      startToFirstCountedSeconds: median(
        perPeer.map((p) => p.startToFirstCountedSeconds).filter((s): s is number => s !== null),
      ),
      perPeer,
      loadAverage: { before: loadBefore, after: loadAfter, cpus: cpus().length },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await server.stop();
  }
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = sizesCommand().action(async () => {
    const opts = command.opts<SizesOptions>();
    const results = [];
    for (const name of opts.models.split(',')) {
      if (!(['mlp', 'mlp-large', 'mlp-xlarge', 'cnn'] as const).some((m) => m === name))
        throw new Error(`unknown model ${name}`);
      const result = await runSession(name as ArchName, opts);
      results.push(result);
      const b = result.breakdownMs;
      io.out(
        `${result.model} (${result.params} params, ${result.source}): peak RSS max ${result.peakRssMB.max.toFixed(0)} MB, ` +
          `start to first counted round ${result.startToFirstCountedSeconds.toFixed(2)} s, ${result.roundsPerSecond?.toFixed(2)} rounds/s; ` +
          `round ${b.wall} ms = gradient ${b.gradient} + encode ${b.encode} + decode ${b.decode} + wire ${b.wire} + waiting ${b.waiting} ` +
          `(load ${result.loadAverage.before.toFixed(1)} -> ${result.loadAverage.after.toFixed(1)})\n`,
      );
    }
    writeResult(opts.out, { date: new Date().toISOString(), results });
    code = 0;
  });
  return runProgram(command, argv, io, () => code, 'npm run bench:sizes --');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));

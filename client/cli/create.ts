/**
 * `liec create --server URL [config flags]`: creates a session and prints its id, token and
 * the links to join it (browser) or watch it.
 */
import { parseArgs } from 'node:util';
import { SignalingClient } from '../signaling/index.ts';
import { parseSessionConfig, type SessionConfigInput } from '../../shared/protocol/session-config.ts';

export const CREATE_USAGE = `usage: liec create --server URL [--algorithm liec] [--up topk:0.01] [--down topk:0.01]
       [--rounds 500] [--lr 0.1] [--momentum 0] [--batch 64] [--deadline-ms 5000] [--quorum 0.5] [--sync 20]
       [--sync-codec sign:256] [--sync-mode full|rolling] [--compensation auto|0..1] [--partition iid] [--min-peers 1] [--data-shards 4] [--seed 1] [--json]`;

export const CONFIG_FLAGS = {
  algorithm: { type: 'string' },
  up: { type: 'string' },
  down: { type: 'string' },
  rounds: { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  batch: { type: 'string' },
  'deadline-ms': { type: 'string' },
  quorum: { type: 'string' },
  sync: { type: 'string' },
  'sync-codec': { type: 'string' },
  'sync-drift': { type: 'string' },
  'sync-mode': { type: 'string' },
  compensation: { type: 'string' },
  partition: { type: 'string' },
  'min-peers': { type: 'string' },
  'data-shards': { type: 'string' },
  'eval-every': { type: 'string' },
  seed: { type: 'string' },
} as const;

type ConfigFlagValues = Partial<Record<keyof typeof CONFIG_FLAGS, string>>;

/** Maps command-line flags to a session config input; the server validates it again. */
export function configFromFlags(values: ConfigFlagValues): SessionConfigInput {
  const num = (text: string | undefined) => (text === undefined ? undefined : Number(text));
  const input: Record<string, unknown> = {
    algorithm: values.algorithm,
    up: values.up,
    down: values.down ?? (values.algorithm === 'ef-sgd' ? 'identity' : values.up),
    rounds: num(values.rounds),
    learningRate: num(values.lr),
    momentum: num(values.momentum),
    batchSize: num(values.batch),
    roundDeadlineMs: num(values['deadline-ms']),
    quorum: num(values.quorum),
    syncPeriod: num(values.sync),
    syncCodec: values['sync-codec'],
    syncDriftThreshold: num(values['sync-drift']),
    syncMode: values['sync-mode'],
    compensation:
      values.compensation === undefined || values.compensation === 'auto'
        ? values.compensation
        : Number(values.compensation),
    partition: values.partition,
    minPeers: num(values['min-peers']),
    dataShards: num(values['data-shards']),
    evalEvery: num(values['eval-every']),
    seed: num(values.seed),
  };
  for (const key of Object.keys(input)) if (input[key] === undefined) delete input[key];
  // Fails here with the field named, rather than as a server error.
  return parseSessionConfig(input);
}

export function joinLinks(server: string, sessionId: string, token: string) {
  const query = `session=${encodeURIComponent(sessionId)}&token=${encodeURIComponent(token)}`;
  return {
    browser: `${server.replace(/\/$/, '')}/?${query}`,
    watch: `${server.replace(/\/$/, '')}/?${query}&watch=1`,
    headless: `liec join --server ${server} --session ${sessionId} --token ${token}`,
  };
}

export async function create(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { server: { type: 'string' }, json: { type: 'boolean' }, ...CONFIG_FLAGS },
  });
  if (values.server === undefined) {
    console.error(CREATE_USAGE);
    return 2;
  }
  const client = new SignalingClient();
  try {
    await client.connect(values.server);
    const created = await client.create(configFromFlags(values));
    const links = joinLinks(values.server, created.sessionId, created.token);
    if (values.json === true) console.log(JSON.stringify({ ...created, links }));
    else {
      console.log(`session: ${created.sessionId}\ntoken:   ${created.token}`);
      console.log(`join in a browser: ${links.browser}\njoin headless:     ${links.headless}`);
    }
    return 0;
  } finally {
    client.close();
  }
}

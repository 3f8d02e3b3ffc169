/**
 * One peer process of `npm run bench:binding` (bench/binding.ts drives two of them over IPC
 * and relays their signals). It holds PeerLinks on the binding LIEC_WEBRTC names and, on
 * command, sends without pause, counts what arrives, or closes a link. On the initiator side
 * every data-channel send is timed (the blocking time of the binding's send call).
 *
 * Commands (parent -> child) and reports (child -> parent) are the PeerCommand and PeerReport
 * unions below, validated on arrival.
 *
 * @example
 * LIEC_WEBRTC=wrtc node --import tsx bench/binding-peer.ts   # with an IPC channel (fork)
 */
import { z } from 'zod';
import { isNodeBindingName, loadWebRtcBinding, type WebRtcBinding } from '../client/transport/binding.ts';
import { PeerLink } from '../client/transport/peer-link.ts';

const commandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('open'), id: z.number().int(), initiator: z.boolean() }),
  z.object({ type: z.literal('signal'), id: z.number().int(), data: z.unknown() }),
  /** Send messages of `messageBytes` until `totalBytes` have gone (0: until the link closes). */
  z.object({
    type: z.literal('send'),
    id: z.number().int(),
    messageBytes: z.number().int().positive(),
    totalBytes: z.number().int().nonnegative(),
  }),
  /** Report 'received' once `bytes` payload bytes came in on link `id`, and 'chunks' at `chunks`. */
  z.object({
    type: z.literal('expect'),
    id: z.number().int(),
    bytes: z.number().int(),
    chunks: z.number().int(),
  }),
  z.object({ type: z.literal('close'), id: z.number().int() }),
  z.object({ type: z.literal('send-times') }),
  z.object({ type: z.literal('exit') }),
]);
export type PeerCommand = z.infer<typeof commandSchema>;

export type PeerReport =
  | { type: 'ready'; binding: string }
  | { type: 'signal'; id: number; data: unknown }
  | { type: 'connect'; id: number }
  | { type: 'chunks'; id: number }
  | { type: 'received'; id: number; bytes: number }
  | { type: 'sent'; id: number; bytes: number }
  | { type: 'closed'; id: number; reason: string; error: string | undefined }
  | { type: 'send-times'; micros: number[] };

const links = new Map<number, PeerLink>();
/** Per link: report 'received' at this many payload bytes, 'chunks' at this many chunks. */
const expectations = new Map<number, { bytes: number; chunks: number }>();
/** Microseconds each data-channel send() call blocked, since the last 'send-times' command. */
let sendMicros: number[] = [];

function report(message: PeerReport): void {
  process.send?.(message);
}

/** The binding, its initiator-side data channels timing every send() call. */
function timedBinding(base: WebRtcBinding): WebRtcBinding {
  class TimedConnection extends base.implementation.RTCPeerConnection {
    override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
      const channel = super.createDataChannel(label, init);
      const send = channel.send.bind(channel) as (data: ArrayBufferView) => void;
      // An own property in front of the prototype's method: simple-peer calls channel.send.
      Reflect.set(channel, 'send', (data: ArrayBufferView) => {
        const start = performance.now();
        try {
          send(data);
        } finally {
          sendMicros.push((performance.now() - start) * 1000);
        }
      });
      return channel;
    }
  }
  return { name: base.name, implementation: { ...base.implementation, RTCPeerConnection: TimedConnection } };
}

async function sendLoop(link: PeerLink, id: number, messageBytes: number, totalBytes: number): Promise<void> {
  const message = new Uint8Array(messageBytes);
  for (let i = 0; i < messageBytes; i++) message[i] = (i * 31) & 0xff;
  let sent = 0;
  while (!link.closed && (totalBytes === 0 || sent < totalBytes)) {
    try {
      await link.send(message);
    } catch {
      return; // the link closed under the send: its 'close' report says why
    }
    sent += messageBytes;
  }
  report({ type: 'sent', id, bytes: sent });
}

function open(binding: WebRtcBinding, id: number, initiator: boolean): void {
  const link = new PeerLink({ initiator, binding, connectTimeoutMs: 20_000 });
  links.set(id, link);
  let receivedBytes = 0;
  link.on('signal', (data) => report({ type: 'signal', id, data }));
  link.on('connect', () => report({ type: 'connect', id }));
  link.on('message', (message) => {
    receivedBytes += message.byteLength;
    const expected = expectations.get(id);
    if (expected && expected.bytes > 0 && receivedBytes >= expected.bytes) {
      expected.bytes = 0;
      report({ type: 'received', id, bytes: receivedBytes });
    }
  });
  let error: string | undefined;
  link.on('error', (err) => (error = err.code));
  link.on('close', (reason) => {
    links.delete(id);
    expectations.delete(id);
    report({ type: 'closed', id, reason, error });
  });
  // Chunks, not messages: a close can be timed to land mid-message.
  const poll = setInterval(() => {
    const expected = expectations.get(id);
    if (link.closed) clearInterval(poll);
    else if (expected && expected.chunks > 0 && link.arrivedChunks >= expected.chunks) {
      expected.chunks = 0;
      report({ type: 'chunks', id });
    }
  }, 1);
}

async function main(): Promise<void> {
  const name = process.env['LIEC_WEBRTC'] ?? '';
  if (!isNodeBindingName(name)) throw new Error(`LIEC_WEBRTC=${name}: not a Node binding`);
  const binding = timedBinding(await loadWebRtcBinding(name));
  process.on('message', (raw: unknown) => {
    const command = commandSchema.parse(raw);
    switch (command.type) {
      case 'open':
        open(binding, command.id, command.initiator);
        return;
      case 'signal':
        links.get(command.id)?.signal(command.data);
        return;
      case 'send': {
        const link = links.get(command.id);
        if (link) void sendLoop(link, command.id, command.messageBytes, command.totalBytes);
        return;
      }
      case 'expect':
        expectations.set(command.id, { bytes: command.bytes, chunks: command.chunks });
        return;
      case 'close':
        links.get(command.id)?.close();
        return;
      case 'send-times':
        report({ type: 'send-times', micros: sendMicros });
        sendMicros = [];
        return;
      case 'exit':
        for (const link of links.values()) link.close();
        process.disconnect();
        return;
      default: {
        const never: never = command;
        throw new Error(`unknown command ${String(never)}`);
      }
    }
  });
  report({ type: 'ready', binding: binding.name });
}

await main();

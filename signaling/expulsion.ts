/**
 * Carrying out an expulsion the store decided (signaling/sessions.ts, offend): the member
 * is already out of the session's state; this tells it why (`expelled`), tells the room it
 * left (`peer:left`, reason 'expelled'), and closes its socket, on whichever instance holds
 * it (the socket.io adapter reaches every instance). Its rejoin is refused by the store
 * (EXPELLED), so the peer does not come back under its id.
 *
 * @example
 * if (outcome.expelled) expel(ctx, member.sessionId, outcome.expelled, outcome.aggregator.term);
 */
import type { ExpelledEvent, Offence } from '../shared/protocol/signaling.ts';
import { roomOf, type ServerContext } from './context.ts';
import type { Expulsion } from './store.ts';

/** What an offence key of the store (SessionRecord.offences) is, for the peer and its operator. */
function describeOffence(key: string): { kind: Offence; text: string } {
  if (key === 'barred') return { kind: 'faulty-aggregator', text: 'replaced as aggregator for a fault' };
  const reporter = key.startsWith('report:') ? key.slice('report:'.length) : key;
  return { kind: 'invalid-frames', text: `dropped by aggregator ${reporter} for invalid frames` };
}

/** The `expelled` message for an expulsion: its last offence and every offence, in words. */
export function expelledEvent(sessionId: string, expulsion: Expulsion): ExpelledEvent {
  const described = expulsion.offences.map(describeOffence);
  const last = described.at(-1)?.kind ?? 'invalid-frames';
  const count = `${described.length} offence${described.length === 1 ? '' : 's'}`;
  const message = `${count}: ${described.map((d) => d.text).join('; ')}`;
  return {
    sessionId,
    peerId: expulsion.peerId,
    reason: last,
    offences: Math.max(1, described.length),
    message: message.slice(0, 1024),
  };
}

export function expel(ctx: ServerContext, sessionId: string, expulsion: Expulsion, term: number): void {
  const { peerId, socketId } = expulsion;
  const event = expelledEvent(sessionId, expulsion);
  ctx.log.warn('peer expelled from its session', { sessionId, peerId, offences: expulsion.offences });
  ctx.liveness.forget(socketId);
  // Sent before the close: the socket flushes what it was given before it shuts.
  ctx.io.to(socketId).emit('expelled', event);
  ctx.io
    .to(roomOf(sessionId))
    .except(socketId)
    .emit('peer:left', { sessionId, peerId, reason: 'expelled', term });
  ctx.io.in(socketId).disconnectSockets(true);
}

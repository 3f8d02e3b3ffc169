/**
 * The event list's lines and the screen reader announcements, as text: one sentence per
 * session event, naming this tab "you".
 *
 * @example
 * describeEvent({ kind: 'aggregator', peerId: 'p1', term: 2, at: 0 }, 'p1'); // 'You are the aggregator (term 2)'
 */
import type { SessionEvent } from './state.ts';

function who(peerId: string, selfId: string | null): string {
  return peerId === selfId ? `${peerId} (this tab)` : peerId;
}

export function describeEvent(event: SessionEvent, selfId: string | null): string {
  switch (event.kind) {
    case 'join':
      return `${who(event.peerId, selfId)} joined (${event.peerKind})`;
    case 'drop':
      return `${who(event.peerId, selfId)} dropped`;
    case 'aggregator':
      if (event.peerId === null) return `No aggregator (term ${event.term})`;
      return event.peerId === selfId
        ? `This tab is the aggregator (term ${event.term})`
        : `Aggregator is now ${event.peerId} (term ${event.term})`;
    case 'disconnect':
      return `Signaling connection lost (${event.reason})`;
    case 'reconnect':
      return 'Signaling connection back';
  }
}

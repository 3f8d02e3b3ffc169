/**
 * A peer between its join and its learner being ready (TF.js, the model, the data: 0.2-3 s on
 * a loaded machine). Linking does not need the learner, so the peer links to its aggregator at
 * once (peer.ts), and one that will need the session's model anyway (a newcomer after round 0,
 * a resumed peer the session has passed) says hello as soon as that link opens: the model,
 * and the broadcasts after it, come while the learner loads. Its own state (LocalState) needs
 * the learner, so every frame that arrives meanwhile waits here and goes to the role in order
 * once it is ready: none is dropped, and replayed in order they bring the peer to the round
 * in flight (the model, then each broadcast applied, as a worker busy for a while would).
 *
 * @example
 * const wait = new LearnerWait({ earlyHello: { round: 0 }, send, transport, settings, log });
 * wait.follow('agg', 3);                  // links to the aggregator while the learner loads
 * wait.onConnected('agg');                // the link opened: hello of term 3
 * wait.hold('agg', bytes);                // a frame kept for later
 * const early = wait.handOver('agg');     // learner ready: the link, and the term of its hello
 * for (const [from, bytes] of wait.release()) onMessage(from, bytes);
 */
import { encodeControl } from '../../shared/protocol/control.ts';
import type { PeerTransport } from '../transport/index.ts';
import { AggregatorLink } from './aggregator-link.ts';
import type { OutgoingFrame } from './context.ts';
import type { PeerSettings } from './settings.ts';

const EMPTY = new Uint8Array(0);

export interface LearnerWaitInit {
  /**
   * The hello to say before the learner is ready (the round this peer will be in, with no
   * model and no upload pending), or null: a peer that will hold a model when it is ready (the
   * seed weights at round 0, a checkpoint the session has not passed) says hello then, as its
   * aggregator would expect its upload of that round at once.
   */
  earlyHello: { round: number } | null;
  send: (to: string, frame: OutgoingFrame) => void;
  transport: PeerTransport;
  settings: PeerSettings;
  log: (message: string) => void;
}

/** The link to the aggregator made while the learner loaded, handed to the first worker role. */
export interface EarlyLink {
  link: AggregatorLink;
  /** The term of the hello this link carried (null: none, the role says it). */
  helloTerm: number | null;
}

export class LearnerWait {
  private readonly init: LearnerWaitInit;
  private aggregator: { id: string; term: number } | null = null;
  private link: AggregatorLink | null = null;
  /** The term of the hello sent on the open link to the aggregator, if one was. */
  private helloTerm: number | null = null;
  private frames: [from: string, bytes: Uint8Array][] = [];
  private released = false;

  constructor(init: LearnerWaitInit) {
    this.init = init;
  }

  /** The aggregator of a new term while the learner loads (null: none elected): link to it. */
  follow(aggregatorId: string | null, term: number): void {
    const current = this.aggregator;
    if (this.released || (current?.id === aggregatorId && current.term === term)) return;
    this.stop();
    this.init.transport.closeAll();
    this.helloTerm = null;
    this.aggregator = aggregatorId === null ? null : { id: aggregatorId, term };
    if (aggregatorId === null) return;
    const { transport, settings, log } = this.init;
    this.link = new AggregatorLink(transport, aggregatorId, settings, log);
    this.link.start();
  }

  /** A link opened: to the aggregator, say hello now if this peer will need its model. */
  onConnected(remoteId: string): void {
    const aggregator = this.aggregator;
    const hello = this.init.earlyHello;
    if (this.released || hello === null || aggregator?.id !== remoteId) return;
    const meta = encodeControl({ kind: 'hello', round: hello.round, hasModel: false, pendingUpload: false });
    const { term } = aggregator;
    this.init.send(remoteId, { type: 'control', term, round: hello.round, aux: 0, meta, payload: EMPTY });
    this.helloTerm = term;
  }

  /** A link closed: the aggregator forgets this peer (a hello on the next link is a new one); link again. */
  onDisconnected(remoteId: string): void {
    if (this.aggregator?.id !== remoteId) return;
    this.helloTerm = null;
    this.link?.onDropped();
  }

  /** Keeps a frame for the role (decoded and checked then, as any other). */
  hold(from: string, bytes: Uint8Array): void {
    // A copy: it outlives the transport's handler, and a view may point into a binding's buffer.
    this.frames.push([from, bytes.slice()]);
  }

  /**
   * The learner is ready and the first role begins: the link to `aggregatorId` if it is the
   * one this made (the worker role keeps it), else null (and the link made is stopped).
   */
  handOver(aggregatorId: string | null): EarlyLink | null {
    const link = this.link;
    this.link = null;
    if (link === null || link.aggregatorId !== aggregatorId) {
      link?.stop();
      return null;
    }
    return { link, helloTerm: this.helloTerm };
  }

  /** Stops the link this made, if it still owns it (the peer closes). */
  stop(): void {
    this.link?.stop();
    this.link = null;
  }

  /** The learner is ready: the frames held, in the order they came; nothing is held any more. */
  release(): [from: string, bytes: Uint8Array][] {
    this.released = true;
    const frames = this.frames;
    this.frames = [];
    return frames;
  }
}

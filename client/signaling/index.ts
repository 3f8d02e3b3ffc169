/**
 * The typed signaling client and what callers need with it.
 *
 * @example
 * import { SignalingClient } from './client/signaling/index.ts';
 */
export {
  SignalingClient,
  type CreatedSession,
  type JoinedSession,
  type SignalingClientEvents,
  type SignalingClientOptions,
} from './signaling-client.ts';
export { SessionMembership, type MembershipEvents, type MembershipInit } from './membership.ts';
export { SessionView } from './session-view.ts';
export { TypedEmitter } from '../../shared/typed-emitter.ts';
export type { RequestOptions } from './request.ts';
export { SignalingError, type SignalingErrorCode } from '../../shared/protocol/signaling.ts';

/**
 * Limits on connections themselves, before any message: how many sockets one address may
 * hold open at once (beyond it the handshake is refused with a connect_error whose data is
 * { code: 'RATE_LIMITED' }), and how long a socket may stay connected without joining a
 * session (then it gets a fatal NOT_JOINED error and is closed). Without them a client
 * with no token could hold any number of idle sockets for ever.
 *
 * @example
 * limitConnections(io, { maxConnectionsPerAddress: 1024, joinTimeoutMs: 30_000 }, log);
 */
import type { ErrorInfo } from '../shared/protocol/signaling.ts';
import type { SignalingIo } from './context.ts';
import type { Logger } from './logger.ts';

export interface ConnectionLimits {
  /** Sockets one client address may hold open at once. */
  maxConnectionsPerAddress: number;
  /** A socket that has not joined a session this long after connecting is closed. */
  joinTimeoutMs: number;
}

const JOIN_TIMEOUT: ErrorInfo = { code: 'NOT_JOINED', message: 'no session joined in time', fatal: true };

/** An Error whose `data` socket.io hands to the client's connect_error listener. */
class ConnectionRefused extends Error {
  readonly data: ErrorInfo;
  constructor(info: ErrorInfo) {
    super(info.code);
    this.data = info;
  }
}

export function limitConnections(io: SignalingIo, limits: ConnectionLimits, log: Logger): void {
  const open = new Map<string, number>();
  io.use((socket, next) => {
    const address = socket.handshake.address;
    const count = open.get(address) ?? 0;
    if (count >= limits.maxConnectionsPerAddress) {
      log.warn('connection refused: too many from this address', { address, count });
      next(new ConnectionRefused({ code: 'RATE_LIMITED', message: 'too many connections', fatal: true }));
      return;
    }
    open.set(address, count + 1);
    socket.once('disconnect', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
    next();
  });
  io.on('connection', (socket) => {
    const timer = setTimeout(() => {
      if (socket.data.peerId !== undefined || !socket.connected) return;
      socket.emit('error', { ...JOIN_TIMEOUT, event: 'session:join' });
      socket.disconnect(true);
    }, limits.joinTimeoutMs);
    timer.unref();
    socket.once('disconnect', () => clearTimeout(timer));
  });
}

/**
 * Random ids for sessions, peers and server instances: base64url, never starting with
 * '-' or '_'. Session ids end up on command lines (`liec join --session <id>`, the demo,
 * the benches and tests spawn peers that way), and an argument parser reads a value that
 * starts with '-' as an option: one session id in 32 made its peers exit at start-up
 * ("Option '--session' argument is ambiguous"), so a session's child peers were never
 * counted.
 *
 * @example
 * randomId(12); // 'q3Zk0v_8rN-2cL1xY4sPaw', 16 characters, first one [A-Za-z0-9]
 */
import { randomBytes } from 'node:crypto';

const SAFE_FIRST = /^[A-Za-z0-9]/;

/** A base64url id of `bytes` random bytes whose first character is a letter or digit. */
export function randomId(bytes: number): string {
  for (;;) {
    const id = randomBytes(bytes).toString('base64url');
    // Redrawing costs 1/32 of one bit of entropy on the first character; nothing else changes.
    if (SAFE_FIRST.test(id)) return id;
  }
}

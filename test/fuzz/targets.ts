/**
 * Every fuzz target, in the order `npm run fuzz` runs them. The node:test files run the
 * same targets with their `fast` counts.
 *
 * @example
 * for (const t of ALL_TARGETS) console.log(t.name, t.fast, t.full);
 */
import { algorithmTargets } from './algorithm-targets.ts';
import { codecTargets } from './codec-targets.ts';
import type { FuzzTarget } from './harness.ts';
import { protocolTargets } from './protocol-targets.ts';
import { roleTargets } from './role-targets.ts';
import { signalingTargets } from './signaling-targets.ts';

export const ALL_TARGETS: readonly FuzzTarget[] = [
  ...codecTargets,
  ...protocolTargets,
  ...signalingTargets,
  ...algorithmTargets,
  ...roleTargets,
];

import { test } from 'node:test';
import { checkTarget } from './harness.ts';
import { signalingTargets } from './signaling-targets.ts';

for (const t of signalingTargets) {
  test(`fuzz ${t.name}: ${t.description}`, async () => {
    await checkTarget(t);
  });
}

import { test } from 'node:test';
import { checkTarget } from './harness.ts';
import { protocolTargets } from './protocol-targets.ts';

for (const t of protocolTargets) {
  test(`fuzz ${t.name}: ${t.description}`, async () => {
    await checkTarget(t);
  });
}

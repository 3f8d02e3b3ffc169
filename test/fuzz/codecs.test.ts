import { test } from 'node:test';
import { codecTargets } from './codec-targets.ts';
import { checkTarget } from './harness.ts';

for (const t of codecTargets) {
  test(`fuzz ${t.name}: ${t.description}`, async () => {
    await checkTarget(t);
  });
}

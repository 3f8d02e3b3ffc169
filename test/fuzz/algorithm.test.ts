import { test } from 'node:test';
import { algorithmTargets } from './algorithm-targets.ts';
import { checkTarget } from './harness.ts';

for (const t of algorithmTargets) {
  test(`fuzz ${t.name}: ${t.description}`, async () => {
    await checkTarget(t);
  });
}

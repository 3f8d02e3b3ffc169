import { test } from 'node:test';
import { checkTarget } from './harness.ts';
import { roleTargets } from './role-targets.ts';

for (const t of roleTargets) {
  test(`fuzz ${t.name}: ${t.description}`, async () => {
    await checkTarget(t);
  });
}

// One vitest case per official test vector. Pending files are reported as todo, never passed.
import { describe, it } from 'vitest';
import { loadCases, loadRegistry } from './registry.js';

const registry = await loadRegistry();

for (const entry of registry) {
  describe(entry.file, () => {
    const check = entry.check;
    if (!check) {
      it.todo(`pending: ${entry.pending}`);
      return;
    }
    const cases = loadCases(entry.file);
    it('has cases', () => {
      if (cases.length === 0) throw new Error('no cases in file');
    });
    cases.forEach((tc, i) => {
      it(check.label(tc, i), () => check.check(tc));
    });
  });
}

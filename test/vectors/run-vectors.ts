// `npm run test:vectors`: a table, one line per official vector file, then `N passed, N failed`.
import { loadCases, loadRegistry } from './registry.js';

const registry = await loadRegistry();
let passed = 0;
let failed = 0;
const rows: string[][] = [['file', 'passed', 'failed', 'status']];
const failures: string[] = [];

for (const entry of registry) {
  if (!entry.check) {
    rows.push([entry.file, '-', '-', `pending: ${entry.pending}`]);
    continue;
  }
  const cases = loadCases(entry.file);
  let ok = 0;
  let bad = 0;
  cases.forEach((tc, i) => {
    try {
      entry.check!.check(tc);
      ok++;
    } catch (e) {
      bad++;
      if (failures.length < 30) {
        failures.push(`${entry.file} ${entry.check!.label(tc, i)}: ${(e as Error).message}`);
      }
    }
  });
  if (cases.length === 0) bad++;
  passed += ok;
  failed += bad;
  rows.push([entry.file, String(ok), String(bad), bad === 0 ? 'ok' : 'FAIL']);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
if (failures.length > 0) {
  console.log('\nfailures:');
  for (const f of failures) console.log(`  ${f}`);
}
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;

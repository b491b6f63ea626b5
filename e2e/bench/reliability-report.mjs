// Turns Playwright's JSON report of the fault matrix into RELIABILITY.md.
// Usage: node reliability-report.mjs report.json runs seed started-at
import { readFileSync } from 'node:fs';

const [file, runs, seed, started] = process.argv.slice(2);
const report = JSON.parse(readFileSync(file, 'utf8'));

/** scenario title → { passed, failed } over every project and repetition */
const rows = new Map();
function walk(suite, prefix) {
  const title = suite.title && !suite.title.endsWith('.ts') ? `${prefix}${suite.title} › ` : prefix;
  for (const spec of suite.specs ?? []) {
    const name = `${title}${spec.title}`;
    const row = rows.get(name) ?? { passed: 0, failed: 0 };
    for (const t of spec.tests) {
      for (const r of t.results) {
        if (r.status === 'passed') row.passed++;
        else if (r.status !== 'skipped') row.failed++;
      }
    }
    rows.set(name, row);
  }
  for (const child of suite.suites ?? []) walk(child, title);
}
for (const s of report.suites) walk(s, '');

let passed = 0;
let failed = 0;
const lines = [];
for (const [name, row] of rows) {
  passed += row.passed;
  failed += row.failed;
  lines.push(`| ${name.replace(/\|/g, '\\|')} | ${row.passed + row.failed} | ${row.passed} | ${row.failed} |`);
}

console.log(`# Reliability

The fault matrix (\`e2e/tests/faults.spec.ts\`) run ${runs} times per browser project (phone and
desktop), each run against a fresh reference server, real Chromium, with fault seeds from
${seed} on. Produced by \`scripts/reliability.sh ${runs}\` (${started}).

A passing run has checked on the server that exactly one booking exists under the intent's
idempotency key (none, for the refused one) and that the places left went down by exactly one,
and on the screen that the patient sees how it ended.

| scenario | runs | passed | failed |
|---|---:|---:|---:|
${lines.join('\n')}
| **all** | **${passed + failed}** | **${passed}** | **${failed}** |

Lost bookings: ${failed === 0 ? '0' : 'see failed runs'}. Duplicated bookings: ${failed === 0 ? '0' : 'see failed runs'}.
`);

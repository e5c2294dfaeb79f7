// The results contract: one schema, read in one place; one set of statistics.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { knownIssues, withKnownIssues } from '../../conformance/known-issues.ts';
import { loadSubject } from '../../conformance/subject.ts';
import { knownLine } from '../../results/known.ts';
import { parseResults, ResultsError, readResults } from '../../results/schema.ts';
import { percentile, spread, summarize } from '../../results/stats.ts';

/** What an older l2lab wrote: only what every version has. */
const older = {
  schema: 'l2lab.conformance/v1',
  startedAt: '2026-11-01T00:00:00Z',
  finishedAt: '2026-11-01T00:02:00Z',
  subject: { name: 'reference', version: 'abc123', features: ['ipv4'] },
  lab: { name: 'default', provider: 'netns' },
  environment: { kernel: '6.1.0', l2labCommit: 'abc123' },
  probeIntervalMs: 20,
  checks: [
    {
      id: 'failover',
      status: 'passed',
      trials: [{ fault: 'power-off', trial: 1, budgetMs: 1700, passed: true, arp: { outageMs: 1000 } }],
    },
  ],
  summary: { passed: 1, failed: 0, skipped: 0 },
};

test('an older results.json reads with defaults for what it did not write', (t) => {
  const r = parseResults(JSON.stringify(older));
  t.deepEqual(r.checks[0]!.details, []);
  t.is(r.checks[0]!.durationMs, 0);
  t.is(r.checks[0]!.trials[0]!.arp!.splitBrainWindows, 0);
  t.deepEqual(r.checks[0]!.trials[0]!.problems, []);
  t.deepEqual(r.lab.nodes, []);
  t.deepEqual(r.vips, []);
  t.like(r.summary, { info: 0, errors: 0 });
  const renamed = parseResults(
    JSON.stringify({ ...older, checks: [...older.checks, { id: 'informational', status: 'info', trials: [] }] }),
  );
  t.deepEqual(
    renamed.checks.map((c) => c.id),
    ['failover', 'store-outage'],
    'a renamed check reads under its name of today',
  );
});

test('a file that is not l2lab results: the error names the file and the field', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l2l-results-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = { ...older, checks: [{ ...older.checks[0], status: 'maybe' }] };
  writeFileSync(join(dir, 'results.json'), JSON.stringify(bad));
  const e = t.throws(() => readResults(join(dir, 'results.json')), { instanceOf: ResultsError });
  t.regex(e!.message, /results\.json: checks\.0\.status: .*not l2lab conformance results/);
  t.throws(() => parseResults('{"schema": "l2lab.conformance/v1"', 'x.json'), { message: /^x\.json: not JSON/ });
  t.throws(() => parseResults(JSON.stringify({ ...older, schema: 'other/v2' })), { message: /schema/ });
});

test('one statistics: nearest-rank percentiles (every figure was measured), the same median for the suite and the bench', (t) => {
  t.is(percentile([4, 1, 3, 2], 50), 2, 'even count: the lower middle, not 2.5');
  t.is(percentile([4, 1, 3, 2], 95), 4);
  t.is(percentile([], 50), undefined);
  t.deepEqual(spread([1200.4, undefined, 980.6, 1500]), { median: 1200, p95: 1500, max: 1500 });
  t.is(spread([undefined]), undefined);
  t.deepEqual(summarize([30, 10, 20, 40]), { median: 20, min: 10, max: 40, n: 4 });
});

test('known upstream defects: by check and version, on failed checks only, one line for a report', (t) => {
  const lease = { durationMs: 15000, renewDeadlineMs: 5000, retryPeriodMs: 2000 };
  const cilium = loadSubject('cilium', lease);
  t.deepEqual([...knownIssues(cilium, '1.19.5').keys()], ['multicast-snooping'], '1.19.5 has #46079 fixed');
  t.deepEqual([...knownIssues(cilium, 'v1.20.0-pre.1').keys()].sort(), ['gratuitous', 'multicast-snooping']);
  t.is(knownIssues(cilium, '1.20.0').size, 0);
  const base = { title: '', description: '', details: [], figures: {}, trials: [], durationMs: 0 };
  const marked = withKnownIssues(
    [
      { ...base, id: 'gratuitous', status: 'failed' },
      { ...base, id: 'multicast-snooping', status: 'passed' },
    ],
    knownIssues(cilium, '1.19.4'),
  );
  t.is(knownLine(marked[0]!.known), 'known: cilium/cilium#46079 (fixed in 1.19.5, 1.20.0)');
  t.is(marked[1]!.known, undefined, 'a check that passed names nothing');
  t.is(knownLine([{ issue: 'cilium/cilium#39933', what: 'x', fixedIn: [] }]), 'known: cilium/cilium#39933 (not fixed)');
  // a peer's own: ucarp's spoofed advertisement MAC behind an ageing switch
  t.deepEqual(
    knownIssues(loadSubject('ucarp', lease), '1.5.2')
      .get('quiet-switch')
      ?.map((k) => k.issue),
    ['jedisct1/UCarp#19'],
  );
});

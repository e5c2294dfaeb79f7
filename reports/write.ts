// Report writers: results.json (the model), junit.xml (junit-report-builder: a testsuite per
// check, a testcase per check and per trial, with properties), summary.md, console tables.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Builder } from 'junit-report-builder';
import * as jrb from 'junit-report-builder';

// The package is CommonJS with a default export; loaders disagree on where it lands.
const builder: Builder = (jrb as unknown as { default?: Builder }).default?.newBuilder
  ? (jrb as unknown as { default: Builder }).default
  : (jrb as unknown as Builder);

import { knownLine } from '../results/known.ts';
import type { CheckResult, RunResults, Trial } from '../results/schema.ts';
import { formatSpread } from '../results/stats.ts';
import { History, historyPath } from './history.ts';

export { utcStamp } from '../results/folder.ts';

export function writeJson(dir: string, r: RunResults): void {
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(r, null, 2)}\n`);
}

export function writeJunit(dir: string, r: RunResults): void {
  const b = builder.newBuilder();
  const common: [string, string][] = [
    ['subject', r.subject.name],
    ['version', r.subject.version],
    ['lab', r.lab.name],
    ['provider', r.lab.provider],
    [
      'lease',
      r.subject.lease
        ? `${r.subject.lease.durationMs}/${r.subject.lease.renewDeadlineMs}/${r.subject.lease.retryPeriodMs} ms`
        : 'n/a',
    ],
    ['kernel', r.environment.kernel],
    ['l2lab_commit', r.environment.l2labCommit],
    ['probe_interval_ms', String(r.probeIntervalMs)],
  ];
  for (const c of r.checks) {
    const suite = b
      .testSuite()
      .name(`l2lab.${c.id}`)
      .timestamp(r.startedAt)
      .time(c.durationMs / 1000);
    for (const [k, v] of common) suite.property(k, v);
    for (const k of c.known ?? []) suite.property('known_issue', `${k.issue}: ${k.what}`);
    const tc = suite
      .testCase()
      .className(`l2lab.${c.id}`)
      .name(c.title)
      .time(c.durationMs / 1000);
    const known = knownLine(c.known);
    mark(tc, c.status, known ? `${c.reason ?? 'failed'} [${known}]` : c.reason, c.details.join('\n'));
    for (const t of c.trials) {
      const ttc = suite.testCase().className(`l2lab.${c.id}.${t.fault}`).name(`${t.fault} trial ${t.trial}`);
      for (const [k, v] of trialProps(t)) ttc.property(k, v);
      mark(ttc, t.passed ? 'passed' : 'failed', t.problems.join('; '), JSON.stringify(t));
    }
  }
  b.writeTo(join(dir, 'junit.xml'));
}

type Case = ReturnType<ReturnType<Builder['testSuite']>['testCase']>;
function mark(tc: Case, status: CheckResult['status'], reason: string | undefined, out: string): void {
  if (status === 'failed') tc.failure(reason ?? 'failed');
  else if (status === 'error')
    tc.error(reason ?? 'harness error'); // JUnit's own split: the test broke, not the subject
  else if (status === 'skipped') tc.skipped().standardOutput(`skipped: ${reason ?? ''}`);
  if (out) tc.standardOutput(status === 'skipped' ? `skipped: ${reason ?? ''}\n${out}` : out);
}

function trialProps(t: Trial): [string, string][] {
  const f = (x?: number) => (x === undefined ? '' : x.toFixed(1));
  return [
    ['fault', t.fault],
    ['budget_ms', String(t.budgetMs)],
    ['fault_at', t.faultAt],
    ['old_node', t.arp?.oldNode ?? t.ndp?.oldNode ?? ''],
    ['new_node', t.arp?.newNode ?? t.ndp?.newNode ?? ''],
    ['old_mac', t.arp?.oldMac ?? t.ndp?.oldMac ?? ''],
    ['new_mac', t.arp?.newMac ?? t.ndp?.newMac ?? ''],
    ['arp_outage_ms', f(t.arp?.outageMs)],
    ['ndp_outage_ms', f(t.ndp?.outageMs)],
    ['http_outage_ms', f(t.http?.outageMs)],
    ['arp_takeover_ms', f(t.arp?.takeoverMs)],
    ['ndp_takeover_ms', f(t.ndp?.takeoverMs)],
    ['garp_after_ms', f(t.arp?.announceMs)],
    ['na_after_ms', f(t.ndp?.announceMs)],
    ['capture', t.capture ?? ''],
  ];
}

/** Per fault: median / p95 / max of the ARP, NDP and HTTP outages. */
export function outageTable(r: RunResults): string[][] {
  const trials = r.checks.flatMap((c) => c.trials);
  const rows = [
    [
      'fault',
      'trials',
      'ARP outage median/p95/max ms',
      'NDP outage median/p95/max ms',
      'HTTP outage median/p95/max ms',
      'budget ms',
      'passed',
    ],
  ];
  for (const fault of [...new Set(trials.map((t) => t.fault))]) {
    const ts = trials.filter((t) => t.fault === fault);
    const fmt = (pick: (t: Trial) => number | undefined) => formatSpread(ts.map(pick));
    rows.push([
      fault,
      String(ts.length),
      fmt((t) => t.arp?.outageMs),
      fmt((t) => t.ndp?.outageMs),
      fmt((t) => t.http?.outageMs),
      `${ts[0]!.budgetMs}${ts[0]!.dadMs ? ` (NDP +${ts[0]!.dadMs} DAD)` : ''}`,
      `${ts.filter((t) => t.passed).length}/${ts.length}`,
    ]);
  }
  return rows;
}

export function writeSummary(dir: string, r: RunResults): string {
  const md = [
    `# l2lab conformance: ${r.subject.name} ${r.subject.version}`,
    '',
    `Lab ${r.lab.name} (${r.lab.provider}), ${r.startedAt} → ${r.finishedAt}, kernel ${r.environment.kernel}, l2lab ` +
      `${r.environment.l2labCommit}, probe every ${r.probeIntervalMs} ms.`,
    r.subject.lease
      ? `Lease ${r.subject.lease.durationMs} / ${r.subject.lease.renewDeadlineMs} / ${r.subject.lease.retryPeriodMs} ms ` +
        `(duration / renew deadline / retry period).`
      : '',
    '',
    `**${r.summary.passed} passed, ${r.summary.failed} failed, ${r.summary.skipped} skipped, ${r.summary.info} ` +
      `informational${r.summary.errors ? `, ${r.summary.errors} harness errors` : ''}.**`,
    '',
    '| check | status | note |',
    '| --- | --- | --- |',
    ...r.checks.map((c) => {
      const note = [c.reason ?? c.details[0] ?? '', knownLine(c.known)].filter(Boolean).join(' — ');
      return `| ${c.id} | ${c.status} | ${note.replace(/\|/g, '\\|')} |`;
    }),
    '',
    '## Failover outages',
    '',
    ...markdownTable(outageTable(r)),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'summary.md'), md);
  return md;
}

function markdownTable(rows: string[][]): string[] {
  return rows.length < 2 ? ['(no failover trials)'] : markdown(rows);
}

/** A Markdown table: the first row is the header; a | inside a cell is escaped. */
export function markdown(rows: string[][]): string[] {
  const cell = (x: string) => x.replace(/\|/g, '\\|');
  return [
    `| ${rows[0]!.map(cell).join(' | ')} |`,
    `| ${rows[0]!.map(() => '---').join(' | ')} |`,
    ...rows.slice(1).map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

/**
 * A run folder's files from its results (results.json, junit.xml, summary.md), then the run
 * indexed in the history: the history file given, none with false, by default historyPath().
 * A history that cannot take the run is said through `progress`, never fatal: the folder is the result.
 */
export function writeRun(
  dir: string,
  r: RunResults,
  opts: { history?: string | false; progress?: (m: string) => void } = {},
): void {
  writeJson(dir, r);
  writeJunit(dir, r);
  writeSummary(dir, r);
  const path = opts.history === undefined ? historyPath() : opts.history;
  if (!path) return;
  try {
    const h = History.open(path);
    try {
      const o = h.add(dir);
      if (o.skipped.length) throw new Error(o.skipped[0]!.reason);
    } finally {
      h.close();
    }
  } catch (e) {
    opts.progress?.(
      `the run history ${path} did not take this run (${(e as Error).message}); \`l2lab report import ${dir}\` adds it later`,
    );
  }
}

// Subjects side by side: one run per subject on the same lab with the same faults, read back
// into one comparison (per subject × fault the client-side outages, split-brain, announcements,
// and which checks failed). Pure: run results in, tables and files out.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResults, Trial } from '../results/schema.ts';
import { spread } from '../results/stats.ts';
import { markdown } from './write.ts';

type Spread = ReturnType<typeof spread>;

export interface SubjectFaultRow {
  fault: string;
  trials: number;
  passed: number;
  budgetMs: number;
  /** undefined: the family is not claimed (or not measured); a spread of undefined: no takeover in any trial. */
  arpOutageMs?: Spread | 'no takeover';
  ndpOutageMs?: Spread | 'no takeover';
  httpOutageMs?: Spread | 'no takeover';
  /** Where the subject speaks VRRP: its own clock on the wire, the old master's last advertisement to the new one's first. */
  vrrpSwitchoverMs?: Spread;
  /** Requests answered by two MACs, summed over the trials. */
  splitBrainWindows: number;
}

export interface SubjectComparison {
  subject: string;
  version: string;
  report: string;
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
  failedChecks: { id: string; reason: string }[];
  /** announcement-pattern's figures, where it ran. */
  announcements: { arp?: string; ndp?: string };
  faults: SubjectFaultRow[];
}

export interface Comparison {
  schema: 'l2lab.subject-comparison/v1';
  lab: string;
  createdAt: string;
  subjects: SubjectComparison[];
  /** Subjects whose run failed before it had results (install, harness), with why. */
  notRun: { subject: string; error: string }[];
  /** Why the comparison is partial (interrupted), if it is. */
  note?: string;
}

export function compareSubjects(
  runs: { results: RunResults; dir: string }[],
  notRun: { subject: string; error: string }[] = [],
  note?: string,
  now = new Date(),
): Comparison {
  return {
    schema: 'l2lab.subject-comparison/v1',
    lab: runs[0]?.results.lab.name ?? '',
    createdAt: now.toISOString(),
    notRun,
    ...(note ? { note } : {}),
    subjects: runs.map(({ results: r, dir }) => {
      const trials = r.checks.filter((c) => c.id === 'failover').flatMap((c) => c.trials);
      const pattern = r.checks.find((c) => c.id === 'announcement-pattern')?.figures ?? {};
      const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
      return {
        subject: r.subject.name,
        version: r.subject.version,
        report: dir,
        passed: r.summary.passed,
        failed: r.summary.failed,
        skipped: r.summary.skipped,
        errors: r.summary.errors,
        failedChecks: r.checks
          .filter((c) => c.status === 'failed' || c.status === 'error')
          .map((c) => ({ id: c.id, reason: c.reason ?? '' })),
        announcements: { arp: text(pattern['arp.pattern']), ndp: text(pattern['ndp.pattern']) },
        faults: [...new Set(trials.map((t) => t.fault))].map((fault) => faultRow(fault, trials)),
      };
    }),
  };
}

function faultRow(fault: string, all: Trial[]): SubjectFaultRow {
  const ts = all.filter((t) => t.fault === fault);
  return {
    fault,
    trials: ts.length,
    passed: ts.filter((t) => t.passed).length,
    budgetMs: ts[0]!.budgetMs,
    arpOutageMs: outage(ts, (t) => t.arp),
    ndpOutageMs: outage(ts, (t) => t.ndp),
    httpOutageMs: outage(ts, (t) => t.http),
    vrrpSwitchoverMs: spread(ts.map((t) => (t.arp ?? t.ndp)?.vrrp?.switchoverMs)),
    splitBrainWindows: ts.reduce((n, t) => n + (t.arp?.splitBrainWindows ?? 0) + (t.ndp?.splitBrainWindows ?? 0), 0),
  };
}

function outage(
  ts: Trial[],
  pick: (t: Trial) => { outageMs?: number } | undefined,
): Spread | 'no takeover' | undefined {
  if (!ts.some((t) => pick(t))) return undefined;
  return spread(ts.map((t) => pick(t)?.outageMs)) ?? 'no takeover';
}

const fmt = (s: Spread | 'no takeover' | undefined) =>
  s === undefined ? '-' : s === 'no takeover' ? s : `${s.median} / ${s.p95} / ${s.max}`;

/** One row per subject × fault, for a terminal or Markdown. */
export function comparisonTable(c: Comparison): string[][] {
  const rows = [
    [
      'subject',
      'fault',
      'passed',
      'ARP outage ms',
      'NDP outage ms',
      'HTTP outage ms',
      'VRRP switchover ms',
      'requests answered twice',
      'budget ms',
    ],
  ];
  for (const s of c.subjects)
    for (const f of s.faults)
      rows.push([
        s.subject,
        f.fault,
        `${f.passed}/${f.trials}`,
        fmt(f.arpOutageMs),
        fmt(f.ndpOutageMs),
        fmt(f.httpOutageMs),
        fmt(f.vrrpSwitchoverMs),
        String(f.splitBrainWindows),
        String(f.budgetMs),
      ]);
  return rows;
}

/** One row per subject: the checks and the announcement pattern. */
export function subjectsTable(c: Comparison): string[][] {
  return [
    ['subject', 'version', 'passed', 'failed', 'skipped', 'failed checks', 'GARP pattern', 'NA pattern'],
    ...c.subjects.map((s) => [
      s.subject,
      s.version,
      String(s.passed),
      String(s.failed + s.errors),
      String(s.skipped),
      s.failedChecks.map((f) => f.id).join(', ') || '-',
      s.announcements.arp ?? '-',
      s.announcements.ndp ?? '-',
    ]),
  ];
}

/** comparison.json (the model) and comparison.md (the two tables and each failed check's reason). */
export function writeComparison(dir: string, c: Comparison): void {
  writeFileSync(join(dir, 'comparison.json'), `${JSON.stringify(c, null, 2)}\n`);
  const md = [
    `# l2lab: subjects compared on lab ${c.lab}`,
    '',
    `${c.createdAt}. Outages from the client's side, median / p95 / max over the trials.`,
    '',
    ...(c.note ? [`**${c.note}**`, ''] : []),
    ...(c.notRun.length ? ['Not run:', ...c.notRun.map((n) => `- **${n.subject}**: ${n.error}`), ''] : []),
    ...markdown(subjectsTable(c)),
    '',
    '## Failover',
    '',
    ...markdown(comparisonTable(c)),
    '',
    '## Why checks failed',
    '',
    ...c.subjects.flatMap((s) => s.failedChecks.map((f) => `- **${s.subject}** \`${f.id}\`: ${f.reason}`)),
    '',
    '## Reports',
    '',
    ...c.subjects.map((s) => `- ${s.subject} ${s.version}: ${s.report}`),
    '',
  ];
  writeFileSync(join(dir, 'comparison.md'), md.join('\n'));
}

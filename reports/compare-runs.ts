// Two runs (or two selections of runs) compared: per check, did it start or stop failing; per
// fault × family, the outage distributions side by side and a verdict from a rank test. Pure:
// rows from the history in, a typed comparison out; the CLI prints and writes it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kruskalTest from '@stdlib/stats-kruskal-test';
import ranks from '@stdlib/stats-ranks';
import { table } from '../lab/table.ts';
import { percentile } from '../results/stats.ts';
import { type CheckRow, type RunRow, runRows, type TrialRow } from './history.ts';
import { markdown } from './write.ts';

export type Verdict = 'regression' | 'improvement' | 'no significant change' | 'too few trials';
export type Family = 'arp' | 'ndp' | 'http';
const families: Family[] = ['arp', 'ndp', 'http'];

/** One side of a comparison: the runs a selection found, their checks and trials. */
export interface Side {
  label: string;
  runs: RunRow[];
  checks: CheckRow[];
  trials: TrialRow[];
}

export interface Distribution {
  /** Trials measured (those with no takeover included). */
  n: number;
  median?: number;
  p95?: number;
  max?: number;
  /** Trials in which no other node took over within the window: worse than any outage. */
  noTakeover: number;
}

export interface FigureComparison {
  /** The check and fault the trials belong to ("failover", "power-off"). */
  check: string;
  fault: string;
  family: Family;
  a: Distribution;
  b: Distribution;
  /** Two-sided p-value of the rank test (Kruskal-Wallis on two groups: the Mann-Whitney U test's normal approximation, ties corrected). */
  pValue?: number;
  /**
   * Cliff's delta: P(b > a) − P(b < a) over all pairs of trials, from −1 (b always faster) to +1
   * (b always slower); |δ| ≥ 0.474 is a large effect by Romano et al.'s thresholds.
   */
  effect?: number;
  /** b's median − a's median, ms. */
  medianChangeMs?: number;
  verdict: Verdict;
  why: string;
}

export interface CheckComparison {
  check: string;
  a: { passed: number; failed: number; other: number };
  b: { passed: number; failed: number; other: number };
  /** skipped: judged on neither side (a feature the subject lacks, or not run): kept apart from "unchanged". */
  change: 'newly failing' | 'fixed' | 'unchanged' | 'only in a' | 'only in b' | 'skipped';
}

export interface RunComparison {
  schema: 'l2lab.run-comparison/v1';
  createdAt: string;
  a: { label: string; runs: string[]; subjects: string[]; versions: string[] };
  b: { label: string; runs: string[]; subjects: string[]; versions: string[] };
  settings: CompareSettings;
  checks: CheckComparison[];
  figures: FigureComparison[];
  regressions: number;
  improvements: number;
  /** Outage figures without a verdict (too few trials): while any is left, "0 regressions" proves nothing. */
  undecided: number;
  /** The answer in one line: the counts, or "no verdict" and the command that would give one. */
  headline: string;
  /** What makes the comparison less than like for like (labs, providers, probe rates that differ). */
  warnings: string[];
}

export interface CompareSettings {
  /** Significance level of the rank test. */
  alpha: number;
  /** Fewer trials than this on either side: "too few trials", no verdict. */
  minTrials: number;
  /**
   * A significant change must also be this large to count (percent of a's median), and at least
   * two probe intervals (the measurement's resolution): a real but negligible shift is no regression.
   */
  minChangePercent: number;
}

// 25 %: two runs of the same reference settings (5 power cuts each, 1 s lease) had medians 18 %
// apart in CI — a lease-based outage spreads over 2 × 1.2 × retryPeriod with the retries' timing.
export const defaultSettings: CompareSettings = { alpha: 0.05, minTrials: 5, minChangePercent: 25 };

export function compareRuns(a: Side, b: Side, settings = defaultSettings, now = new Date()): RunComparison {
  const figures: FigureComparison[] = [];
  const resolutionMs = 2 * Math.max(...[...a.runs, ...b.runs].map((r) => r.probeIntervalMs), 0);
  const key = (t: TrialRow) => `${t.check}\n${t.fault}`;
  const keys = [...new Set([...a.trials, ...b.trials].map(key))];
  for (const k of keys) {
    const [check, fault] = k.split('\n') as [string, string];
    const ta = a.trials.filter((t) => key(t) === k);
    const tb = b.trials.filter((t) => key(t) === k);
    for (const family of families) {
      const xa = values(ta, family);
      const xb = values(tb, family);
      if (!xa.length && !xb.length) continue; // not measured on either side
      figures.push(figure(check, fault, family, xa, xb, settings, resolutionMs));
    }
  }
  const checks = compareChecks(a, b);
  const regressions =
    figures.filter((f) => f.verdict === 'regression').length +
    checks.filter((c) => c.change === 'newly failing').length;
  const improvements =
    figures.filter((f) => f.verdict === 'improvement').length + checks.filter((c) => c.change === 'fixed').length;
  const undecided = figures.filter((f) => f.verdict === 'too few trials').length;
  const describe = (s: Side) => ({
    label: s.label,
    runs: s.runs.map((r) => r.name),
    subjects: [...new Set(s.runs.map((r) => r.subject))],
    versions: [...new Set(s.runs.map((r) => r.version))],
  });
  return {
    schema: 'l2lab.run-comparison/v1',
    createdAt: now.toISOString(),
    a: describe(a),
    b: describe(b),
    settings,
    checks,
    figures,
    warnings: warnings(a, b),
    regressions,
    improvements,
    undecided,
    headline: headline(regressions, improvements, undecided, figures.length, settings.minTrials),
  };
}

function headline(regressions: number, improvements: number, undecided: number, figures: number, min: number): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const counts = `${plural(regressions, 'regression')}, ${plural(improvements, 'improvement')}`;
  if (!undecided) return counts;
  const why =
    `${undecided} of ${figures} outage figures have too few trials (a verdict needs ${min} a side): measure both sides ` +
    `with \`l2lab test --trials ${min}\` (or more) and compare again`;
  return regressions
    ? `${counts}; ${why}`
    : `no verdict: ${why}${improvements ? ` (${plural(improvements, 'improvement')} seen)` : ''}`;
}

function warnings(a: Side, b: Side): string[] {
  const out: string[] = [];
  const all = [...a.runs, ...b.runs];
  const differ = (what: string, pick: (r: RunRow) => string) => {
    const seen = [...new Set(all.map(pick))];
    if (seen.length > 1) out.push(`the runs differ in ${what} (${seen.join(', ')}): outages are not like for like`);
  };
  differ('lab', (r) => r.lab);
  differ('provider', (r) => r.provider);
  differ('probe interval', (r) => `${r.probeIntervalMs} ms`);
  const shared = a.runs.filter((r) => b.runs.some((x) => x.id === r.id)).map((r) => r.name);
  if (shared.length)
    out.push(`a and b share ${shared.join(', ')}: a run compared with itself shows no change by construction`);
  for (const [name, s] of [
    ['a', a],
    ['b', b],
  ] as const) {
    const subjects = new Set(s.runs.map((r) => `${r.subject} ${r.version}`));
    if (subjects.size > 1) out.push(`${name} pools runs of ${[...subjects].join(', ')}`);
  }
  return out;
}

/** A family's outages over trials; a measured trial without a takeover counts as +∞ (worse than any outage). */
function values(ts: TrialRow[], family: Family): number[] {
  const pick = (t: TrialRow) => (family === 'arp' ? t.arpOutageMs : family === 'ndp' ? t.ndpOutageMs : t.httpOutageMs);
  return ts.flatMap((t) => {
    const v = pick(t);
    return v === undefined ? [] : [v === null ? Number.POSITIVE_INFINITY : v];
  });
}

function distribution(xs: number[]): Distribution {
  const finite = xs.filter(Number.isFinite);
  // A median or p95 that falls on "no takeover" is left out; noTakeover says how many there were.
  const round = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? Math.round(v) : undefined);
  return {
    n: xs.length,
    median: round(percentile(xs, 50)),
    p95: round(percentile(xs, 95)),
    max: finite.length ? Math.round(Math.max(...finite)) : undefined,
    noTakeover: xs.length - finite.length,
  };
}

function figure(
  check: string,
  fault: string,
  family: Family,
  xa: number[],
  xb: number[],
  s: CompareSettings,
  resolutionMs: number,
): FigureComparison {
  const base = { check, fault, family, a: tidy(distribution(xa)), b: tidy(distribution(xb)) };
  if (xa.length < s.minTrials || xb.length < s.minTrials)
    return {
      ...base,
      verdict: 'too few trials',
      why: `${xa.length} vs ${xb.length} trials; a verdict needs ${s.minTrials} on each side (--min-trials)`,
    };
  const ma = percentile(xa, 50)!;
  const mb = percentile(xb, 50)!;
  const change = mb - ma;
  const [fa, fb] = finitePair(xa, xb);
  const effect = cliffsDelta(fa, fb);
  // Every value tied (e.g. no takeover on both sides): the test has nothing to rank.
  const test = fa.concat(fb).every((x) => x === fa[0]) ? undefined : kruskalTest(fa, fb);
  const pValue = test && Number.isFinite(test.pValue) ? test.pValue : 1;
  const out = { ...base, pValue, effect, ...(Number.isFinite(change) ? { medianChangeMs: Math.round(change) } : {}) };
  if (pValue >= s.alpha)
    return { ...out, verdict: 'no significant change', why: `p = ${pValue.toPrecision(2)} ≥ α = ${s.alpha}` };
  const threshold = Math.max(resolutionMs, (Math.abs(ma) * s.minChangePercent) / 100);
  if (Number.isFinite(change) && Math.abs(change) < threshold)
    return {
      ...out,
      verdict: 'no significant change',
      why:
        `p = ${pValue.toPrecision(2)}, but the medians differ by ${Math.round(change)} ms, under ${Math.round(threshold)} ms ` +
        `(${s.minChangePercent} % of a's median, at least 2 probe intervals)`,
    };
  const slower = Number.isFinite(change) ? change > 0 : effect > 0;
  return {
    ...out,
    verdict: slower ? 'regression' : 'improvement',
    why: `p = ${pValue.toPrecision(2)} < α = ${s.alpha}, δ = ${effect.toFixed(2)}, median ${fmtMs(ma)} → ${fmtMs(mb)}`,
  };
}

/**
 * The rank test needs finite numbers: "no takeover" becomes a value above every finite outage of
 * both samples (ties among them stay ties), which keeps every rank as it was.
 */
function finitePair(xa: number[], xb: number[]): [number[], number[]] {
  const all = [...xa, ...xb].filter(Number.isFinite);
  const top = (all.length ? Math.max(...all) : 0) + 1;
  const f = (xs: number[]) => xs.map((x) => (Number.isFinite(x) ? x : top));
  return [f(xa), f(xb)];
}

/** Cliff's delta from the Mann-Whitney U of the two (finite) samples, ranks with ties averaged. */
function cliffsDelta(fa: number[], fb: number[]): number {
  const r = ranks([...fa, ...fb], { method: 'average' });
  const rankSumB = r.slice(fa.length).reduce((s, v) => s + v, 0);
  const uB = rankSumB - (fb.length * (fb.length + 1)) / 2; // pairs in which b is the larger (ties half)
  return (2 * uB) / (fa.length * fb.length) - 1;
}

function tidy(d: Distribution): Distribution {
  return Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as unknown as Distribution;
}

function fmtMs(v: number): string {
  return Number.isFinite(v) ? `${Math.round(v)} ms` : 'no takeover';
}

function compareChecks(a: Side, b: Side): CheckComparison[] {
  const count = (s: Side, id: string) => {
    const cs = s.checks.filter((c) => c.check === id);
    return {
      passed: cs.filter((c) => c.status === 'passed').length,
      failed: cs.filter((c) => c.status === 'failed' || c.status === 'error').length,
      other: cs.filter((c) => !['passed', 'failed', 'error'].includes(c.status)).length,
    };
  };
  const ids = [...new Set([...a.checks, ...b.checks].map((c) => c.check))];
  return ids.map((check) => {
    const ca = count(a, check);
    const cb = count(b, check);
    const judged = (c: typeof ca) => c.passed + c.failed > 0;
    const change: CheckComparison['change'] = !judged(ca)
      ? judged(cb)
        ? 'only in b'
        : 'skipped'
      : !judged(cb)
        ? 'only in a'
        : ca.failed === 0 && cb.failed > 0
          ? 'newly failing'
          : ca.failed > 0 && cb.failed === 0
            ? 'fixed'
            : 'unchanged';
    return { check, a: ca, b: cb, change };
  });
}

const spreadText = (d: Distribution) =>
  d.n === 0
    ? '-'
    : `${d.median ?? '∞'} / ${d.p95 ?? '∞'} / ${d.max ?? '-'} (n ${d.n}${d.noTakeover ? `, ${d.noTakeover} no takeover` : ''})`;

/** Rows for a terminal table or Markdown: one per fault × family. */
export function figureTable(c: RunComparison): string[][] {
  return [
    ['check', 'fault', 'family', 'a: median / p95 / max ms', 'b: median / p95 / max ms', 'p', 'δ', 'verdict'],
    ...c.figures.map((f) => [
      f.check,
      f.fault,
      f.family,
      spreadText(f.a),
      spreadText(f.b),
      f.pValue === undefined ? '-' : f.pValue.toPrecision(2),
      f.effect === undefined ? '-' : f.effect.toFixed(2),
      f.verdict,
    ]),
  ];
}

export function checkTable(c: RunComparison): string[][] {
  const side = (x: CheckComparison['a']) =>
    x.passed + x.failed === 0
      ? 'skipped'
      : `${x.passed} passed, ${x.failed} failed${x.other ? `, ${x.other} skipped` : ''}`;
  return [['check', 'a', 'b', 'change'], ...c.checks.map((k) => [k.check, side(k.a), side(k.b), k.change])];
}

export function comparisonMarkdown(c: RunComparison): string {
  const who = (s: RunComparison['a']) =>
    `${s.label}: ${s.subjects.join(', ')} ${s.versions.join(', ')} (${s.runs.length} run${s.runs.length === 1 ? '' : 's'}: ` +
    `${s.runs.join(', ')})`;
  return [
    '# l2lab: runs compared',
    '',
    `- a: ${who(c.a)}`,
    `- b: ${who(c.b)}`,
    `- Rank test: two-sided, α = ${c.settings.alpha}; a verdict needs ${c.settings.minTrials} trials a side and a change of at least ` +
      `${c.settings.minChangePercent} % of a's median (and 2 probe intervals).`,
    ...c.warnings.map((w) => `- Warning: ${w}.`),
    '',
    `**${c.headline}.**`,
    '',
    '## Checks',
    '',
    ...markdown(checkTable(c)),
    '',
    '## Outages',
    '',
    ...(c.figures.length ? markdown(figureTable(c)) : ['(no failover trials on either side)']),
    '',
    ...c.figures
      .filter((f) => f.verdict !== 'no significant change')
      .map((f) => `- ${f.fault} ${f.family}: ${f.verdict}: ${f.why}`),
    '',
  ].join('\n');
}

/** What a terminal shows: both sides, the figures, the verdicts with their reasons, the checks. */
export function comparisonText(c: RunComparison): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const who = (s: RunComparison['a']) =>
    `${s.label} (${plural(s.runs.length, 'run')}, ${s.subjects.join(', ')} ${s.versions.join(', ')})`;
  return [
    `a: ${who(c.a)}`,
    `b: ${who(c.b)}`,
    ...c.warnings.map((w) => `warning: ${w}`),
    '',
    table(checkTable(c)),
    '',
    ...(c.figures.length ? [table(figureTable(c)), ''] : []),
    ...c.figures
      .filter((f) => f.verdict === 'regression' || f.verdict === 'improvement')
      .map((f) => `${f.verdict}: ${f.check} ${f.fault} ${f.family}: ${f.why}`),
    '',
    c.headline,
  ].join('\n');
}

/** compare.md and compare.json in DIR (made if missing). */
export function writeComparisonFiles(dir: string, c: RunComparison): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'compare.json'), `${JSON.stringify(c, null, 2)}\n`);
  writeFileSync(join(dir, 'compare.md'), comparisonMarkdown(c));
}

/**
 * Each run against the one before it (`--cilium-versions A,B,C`: B against A, C against B), from
 * the runs' own results: the same comparison `report compare` makes from the history.
 */
export function compareInTurn(
  runs: { dir: string; results: unknown }[],
  label: (run: RunRow) => string,
  settings = defaultSettings,
): RunComparison[] {
  const sides = runs.map(({ dir, results }) => {
    const rows = runRows(dir, results);
    return { label: label(rows.run), runs: [rows.run], checks: rows.checks, trials: rows.trials };
  });
  return sides.slice(1).map((b, i) => compareRuns(sides[i]!, b, settings));
}

// l2lab report list|import|compare|html (npm run report --): the run history read by people and CI.
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { dataPaths } from '../../lab/paths.ts';
import { table } from '../../lab/table.ts';
import { UsageError } from '../../lab/validation.ts';
import {
  type CompareSettings,
  compareRuns,
  comparisonText,
  defaultSettings,
  type Side,
  writeComparisonFiles,
} from '../../reports/compare-runs.ts';
import { History, historyPath, type RunFilter, type RunRow } from '../../reports/history.ts';
import { compareHtml, runHtml } from '../../reports/html.ts';
import { metricsText } from '../../reports/metrics.ts';
import { utcStamp } from '../../reports/write.ts';
import { readResults } from '../../results/schema.ts';
import { EXIT, type ExitCode } from '../exit.ts';
import { selectionKeys } from '../help.ts';

/** A selection names runs by what they share; a bare word is one run. */
function parseSelection(text: string, flag: string): RunFilter | string {
  if (!text.includes('=')) return text;
  const f: RunFilter = {};
  for (const part of text.split(',').filter(Boolean)) {
    const i = part.indexOf('=');
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (i < 1 || !selectionKeys.includes(k))
      throw new UsageError(`${flag}: "${part}" is not key=value with a key from ${selectionKeys.join(', ')}`);
    if (!v) throw new UsageError(`${flag}: ${k}= needs a value`);
    if (k === 'last') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag}: last= must be a whole number ≥ 1, not "${v}"`);
      f.last = n;
    } else (f as Record<string, string>)[k] = v;
  }
  return f;
}

function select(h: History, text: string, flag: string): Side {
  const sel = parseSelection(text, flag);
  let runs: RunRow[];
  if (typeof sel === 'string') {
    const run = h.find(sel);
    if (!run)
      throw new UsageError(
        `${flag}: no run "${sel}" in the history (${h.path}); \`l2lab report list\` shows them, \`l2lab report import DIR\` ` +
          `adds folders`,
      );
    runs = [run];
  } else {
    runs = h.list(sel);
    if (!runs.length)
      throw new UsageError(`${flag}: no run in the history matches ${text}; \`l2lab report list\` shows what there is`);
  }
  return h.side(text, runs);
}

function number(flag: string, v: string | undefined, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${flag} must be a number from ${min} to ${max}, not "${v}"`);
  return n;
}

export interface ReportOptions {
  subject?: string;
  version?: string;
  lab?: string;
  since?: string;
  until?: string;
  last?: string;
  json?: boolean;
  out?: string;
  alpha?: string;
  minTrials?: string;
  minChange?: string;
}

/** The history, opened for one command: read-only commands never write it. */
function withHistory<T>(readOnly: boolean, f: (h: History) => T): T {
  const path = historyPath();
  if (!path) throw new UsageError('L2LAB_HISTORY=off: there is no history to read; unset it');
  const h = History.open(path, { readOnly });
  try {
    return f(h);
  } finally {
    h.close();
  }
}

export const reportList = (o: ReportOptions) => withHistory(true, (h) => list(h, o));
export const reportCompare = (a: string, b: string, o: ReportOptions) => withHistory(true, (h) => compare(h, o, a, b));
export const reportHtmlCompare = (a: string, b: string, o: ReportOptions) =>
  withHistory(true, (h) => htmlCompare(h, o, a, b));

export function reportImport(dirs: string[]): ExitCode {
  // A folder that is not there is a typo: refuse before importing anything.
  const missing = dirs.filter((d) => !existsSync(d) || !statSync(d).isDirectory());
  if (missing.length)
    throw new UsageError(`import: no folder ${missing.join(', ')}; give run folders or folders of them`);
  return withHistory(false, (h) => importDirs(h, dirs));
}

/** A run folder as given, or a run the history knows by name or id, or its newest run (--last). */
function runDir(ref: string | undefined, last: boolean | undefined): string {
  if (ref && last) throw new UsageError('give a RUN or --last, not both');
  if (!ref && !last) throw new UsageError('give a RUN (a run folder, or a run `l2lab report list` shows) or --last');
  if (ref && existsSync(join(ref, 'results.json'))) return ref;
  const dir = withHistory(true, (h) => (ref ? h.find(ref)?.dir : h.list({ last: 1 }).at(-1)?.dir));
  if (!dir)
    throw new UsageError(
      ref
        ? `no run "${ref}": give a run folder, or a run the history knows (\`l2lab report list\`)`
        : 'the history holds no run yet: run `l2lab test` first, or give a run folder',
    );
  if (!existsSync(join(dir, 'results.json')))
    throw new UsageError(
      `the history knows ${ref ?? 'the last run'}, but its folder ${dir} is gone (moved or deleted)`,
    );
  return dir;
}

/** The run's figures in the Prometheus text format: stdout, or a file replaced atomically (what the textfile collector reads). */
export function reportMetrics(ref: string | undefined, o: { last?: boolean; out?: string }): ExitCode {
  const text = metricsText(readResults(join(runDir(ref, o.last), 'results.json')));
  if (!o.out) process.stdout.write(text);
  else {
    writeAtomic(o.out, text);
    console.error(`wrote ${o.out}`);
  }
  return EXIT.ok;
}

/** A run folder renders without the history; a run's name or id is looked up in it. */
export function reportHtml(ref: string, o: ReportOptions): ExitCode {
  if (existsSync(join(ref, 'results.json'))) return renderRun(ref, o.out);
  return withHistory(true, (h) => {
    const dir = h.find(ref)?.dir;
    if (!dir)
      throw new UsageError(`no run "${ref}": give a run folder, or a run the history knows (\`l2lab report list\`)`);
    if (!existsSync(join(dir, 'results.json')))
      throw new UsageError(`the history knows ${ref}, but its folder ${dir} is gone (moved or deleted)`);
    return renderRun(dir, o.out);
  });
}

function list(h: History, o: ReportOptions): ExitCode {
  const runs = h.list({
    subject: o.subject,
    version: o.version,
    lab: o.lab,
    since: o.since,
    until: o.until,
    last: o.last === undefined ? undefined : number('last', o.last, 1, 1e9, 1),
  });
  if (o.json) {
    console.log(JSON.stringify(runs, null, 2));
    return 0;
  }
  if (!runs.length) {
    console.log(`no runs in ${h.path} match; \`l2lab report import DIR\` indexes existing run folders`);
    return 0;
  }
  console.log(
    table([
      ['RUN', 'STARTED', 'SUBJECT', 'VERSION', 'LAB', 'PROVIDER', 'LEASE MS', 'COMMIT', 'PASSED', 'FAILED', 'TRIALS'],
      ...runs.map((r) => [
        r.name,
        r.startedAt.replace(/\.\d+Z$/, 'Z'),
        r.subject,
        r.version,
        r.lab,
        r.provider,
        r.lease ?? '-',
        r.l2labCommit,
        String(r.passed),
        String(r.failed + r.errors),
        String(r.trials),
      ]),
    ]),
  );
  console.log(`\n${runs.length} run${runs.length === 1 ? '' : 's'} (history ${h.path})`);
  return 0;
}

function importDirs(h: History, dirs: string[]): ExitCode {
  const out = h.importDirs(dirs);
  for (const s of out.skipped) console.error(`skipped ${s.dir}: ${s.reason}`);
  console.log(
    `imported into ${h.path}: ${out.added.length} added, ${out.updated.length} updated, ${out.unchanged.length} unchanged, ` +
      `${out.skipped.length} skipped`,
  );
  return 0; // a corrupt folder is reported, never fatal
}

function settingsOf(o: ReportOptions): CompareSettings {
  return {
    alpha: number('alpha', o.alpha, 0.0001, 0.5, defaultSettings.alpha),
    minTrials: number('min-trials', o.minTrials, 2, 1000, defaultSettings.minTrials),
    minChangePercent: number('min-change', o.minChange, 0, 1000, defaultSettings.minChangePercent),
  };
}

function htmlCompare(h: History, o: ReportOptions, aRef: string, bRef: string): ExitCode {
  const [a, b] = sides(h, aRef, bRef);
  const c = compareRuns(a, b, settingsOf(o));
  const file = o.out ?? join(dataPaths().comparisons, `${utcStamp()}-compare.html`);
  writeAtomic(file, compareHtml(c, a, b));
  console.log(`${file} (${c.headline})`);
  return 0;
}

function renderRun(dir: string, out: string | undefined): ExitCode {
  const file = out ?? join(dir, 'report.html');
  writeAtomic(file, runHtml(dir, undefined, { pageDir: dirname(resolve(file)) }));
  console.log(file);
  return 0;
}

/** Never a half-written file where a browser or a collector may be reading. */
function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  const tmp = `${file}.l2l-tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Two sides that are the same runs compare nothing: refused (sides that only share runs are warned about). */
function sides(h: History, aRef: string, bRef: string): [Side, Side] {
  const a = select(h, aRef, 'a');
  const b = select(h, bRef, 'b');
  const ids = (s: Side) =>
    s.runs
      .map((r) => r.id)
      .sort()
      .join(' ');
  if (ids(a) === ids(b))
    throw new UsageError(
      `a and b are the same run${a.runs.length === 1 ? '' : 's'} (${a.runs.map((r) => r.name).join(', ')}): compare two different runs ` +
        'or selections',
    );
  return [a, b];
}

function compare(h: History, o: ReportOptions, aRef: string, bRef: string): ExitCode {
  const c = compareRuns(...sides(h, aRef, bRef), settingsOf(o));
  if (o.out !== undefined) writeComparisonFiles(o.out, c);
  if (o.json) console.log(JSON.stringify(c, null, 2));
  else console.log(comparisonText(c));
  return c.regressions ? EXIT.failed : EXIT.ok;
}

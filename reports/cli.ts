// npm run report -- list|import|compare: the run history (reports/history.sqlite) read by people and CI.
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../lab/paths.ts';
import { table } from '../lab/table.ts';
import { UsageError } from '../lab/validation.ts';
import {
  type CompareSettings,
  compareRuns,
  comparisonText,
  defaultSettings,
  type Side,
  writeComparisonFiles,
} from './compare-runs.ts';
import { History, HistoryError, historyPath, type RunFilter, type RunRow } from './history.ts';
import { compareHtml, runHtml } from './html.ts';
import { utcStamp } from './write.ts';

const USAGE = `usage: npm run report -- list [--subject S] [--version V] [--lab L] [--since DATE] [--until DATE] [--last N] [--json]
       npm run report -- import DIR…            run folders, or folders of them (reports/)
       npm run report -- compare A B [--json] [--out DIR] [--alpha 0.05] [--min-trials 5] [--min-change 25]
         A, B: a run (its folder name, folder path or id) or a selection key=value[,key=value…]
               keys: subject, version, lab, provider, lease (duration/renew/retry ms), commit, kernel, since, until, last
               e.g. compare subject=cilium,version=1.19.1 subject=cilium,version=1.20.0
         exits 1 when b regressed against a (a check newly failing, or a slower outage)
       npm run report -- html RUN [--out FILE]          one self-contained HTML file (default: RUN's folder/report.html)
       npm run report -- html compare A B [--out FILE]  the comparison as HTML (default: reports/<UTC>-compare.html)
       the history: ${historyPath() ?? '(off: L2LAB_HISTORY=off)'} (L2LAB_HISTORY=FILE for another)`;

const selectionKeys = ['subject', 'version', 'lab', 'provider', 'lease', 'commit', 'kernel', 'since', 'until', 'last'];

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
        `${flag}: no run "${sel}" in the history (${h.path}); \`npm run report -- list\` shows them, \`npm run report -- import DIR\` ` +
          `adds folders`,
      );
    runs = [run];
  } else {
    runs = h.list(sel);
    if (!runs.length)
      throw new UsageError(
        `${flag}: no run in the history matches ${text}; \`npm run report -- list\` shows what there is`,
      );
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

async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h') {
    console.log(USAGE);
    return verb ? 0 : 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: true,
      options: {
        subject: { type: 'string' },
        version: { type: 'string' },
        lab: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        last: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        alpha: { type: 'string' },
        'min-trials': { type: 'string' },
        'min-change': { type: 'string' },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
  }
  const { values: o, positionals } = parsed;
  // A run folder renders without the history; everything else reads it.
  if (verb === 'html' && positionals.length === 1 && existsSync(join(positionals[0]!, 'results.json')))
    return renderRun(positionals[0]!, o.out as string | undefined);
  const path = historyPath();
  if (!path) throw new UsageError('L2LAB_HISTORY=off: there is no history to read; unset it');
  const h = History.open(path);
  try {
    switch (verb) {
      case 'list':
        return list(h, o, positionals);
      case 'import':
        return importDirs(h, positionals);
      case 'compare':
        return compare(h, o, positionals);
      case 'html':
        return html(h, o, positionals);
      default:
        throw new UsageError(`unknown command "${verb}": list, import, compare or html\n${USAGE}`);
    }
  } finally {
    h.close();
  }
}

function list(h: History, o: Record<string, string | boolean | undefined>, positionals: string[]): number {
  if (positionals.length) throw new UsageError(`list takes flags only, not "${positionals[0]}"\n${USAGE}`);
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const last = str('last');
  const runs = h.list({
    subject: str('subject'),
    version: str('version'),
    lab: str('lab'),
    since: str('since'),
    until: str('until'),
    last: last === undefined ? undefined : number('last', last, 1, 1e9, 1),
  });
  if (o.json) {
    console.log(JSON.stringify(runs, null, 2));
    return 0;
  }
  if (!runs.length) {
    console.log(`no runs in ${h.path} match; \`npm run report -- import reports\` indexes existing run folders`);
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

function importDirs(h: History, dirs: string[]): number {
  if (!dirs.length) throw new UsageError(`import needs one or more folders, e.g. reports\n${USAGE}`);
  const out = h.importDirs(dirs);
  for (const s of out.skipped) console.error(`skipped ${s.dir}: ${s.reason}`);
  console.log(
    `imported into ${h.path}: ${out.added.length} added, ${out.updated.length} updated, ${out.unchanged.length} unchanged, ` +
      `${out.skipped.length} skipped`,
  );
  return 0; // a corrupt folder is reported, never fatal
}

function settingsOf(o: Record<string, string | boolean | undefined>): CompareSettings {
  return {
    alpha: number('alpha', o.alpha as string | undefined, 0.0001, 0.5, defaultSettings.alpha),
    minTrials: number('min-trials', o['min-trials'] as string | undefined, 2, 1000, defaultSettings.minTrials),
    minChangePercent: number(
      'min-change',
      o['min-change'] as string | undefined,
      0,
      1000,
      defaultSettings.minChangePercent,
    ),
  };
}

function html(h: History, o: Record<string, string | boolean | undefined>, positionals: string[]): number {
  const out = o.out as string | undefined;
  if (positionals[0] === 'compare') {
    if (positionals.length !== 3)
      throw new UsageError(`html compare needs two runs or selections (a then b)\n${USAGE}`);
    const a = select(h, positionals[1]!, 'a');
    const b = select(h, positionals[2]!, 'b');
    const c = compareRuns(a, b, settingsOf(o));
    const file = out ?? join(repoRoot, 'reports', `${utcStamp()}-compare.html`);
    writeHtml(file, compareHtml(c, a, b));
    console.log(`${file} (${c.regressions} regressions, ${c.improvements} improvements)`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`html needs one run (or: html compare A B)\n${USAGE}`);
  const ref = positionals[0]!;
  const dir = h.find(ref)?.dir;
  if (!dir)
    throw new UsageError(`no run "${ref}": give a run folder, or a run the history knows (\`npm run report -- list\`)`);
  if (!existsSync(join(dir, 'results.json')))
    throw new UsageError(`the history knows ${ref}, but its folder ${dir} is gone (moved or deleted)`);
  return renderRun(dir, out);
}

function renderRun(dir: string, out: string | undefined): number {
  const file = out ?? join(dir, 'report.html');
  writeHtml(file, runHtml(dir));
  console.log(file);
  return 0;
}

function writeHtml(file: string, text: string): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  const tmp = `${file}.l2l-tmp`; // never a half-written page where a browser may be looking
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function compare(h: History, o: Record<string, string | boolean | undefined>, positionals: string[]): number {
  if (positionals.length !== 2)
    throw new UsageError(`compare needs two runs or selections (a then b), got ${positionals.length}\n${USAGE}`);
  const c = compareRuns(select(h, positionals[0]!, 'a'), select(h, positionals[1]!, 'b'), settingsOf(o));
  if (o.out !== undefined) writeComparisonFiles(o.out as string, c);
  if (o.json) console.log(JSON.stringify(c, null, 2));
  else console.log(comparisonText(c));
  return c.regressions ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (c) => process.exit(c),
  (e: unknown) => {
    console.error(`error: ${(e as Error).message}`);
    process.exit(e instanceof UsageError || e instanceof HistoryError ? 2 : 1);
  },
);

// npm run nightly -- --matrix nightly.yaml [--out DIR]: the nightly runner, a zx script. Runs the
// matrix's cells one after the other (each a `conformance` process), each run indexed in the
// history, rendered as HTML and compared with the previous night's matching run; writes the night's
// page and the index with every cell's trend. The night's record is rewritten after every cell, so
// Ctrl-C (or a stop from systemd or CI) and a failed cell never lose the cells already done.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { $, type ProcessPromise } from 'zx';
import { loadSubject } from '../conformance/subject.ts';
import { findLab } from '../lab/find-lab.ts';
import { repoRoot } from '../lab/paths.ts';
import { upgradeProblem } from '../playbooks/cluster/versions.ts';
import { compareRuns, writeComparisonFiles } from '../reports/compare-runs.ts';
import { History, historyPath } from '../reports/history.ts';
import { compareHtml, runHtml } from '../reports/html.ts';
import {
  type Cell,
  type CellOutcome,
  cells as expand,
  indexHtml,
  loadMatrix,
  type MatrixError,
  type Night,
  nightExitCode,
  nightHtml,
} from '../reports/nightly.ts';
import { utcStamp } from '../reports/write.ts';

const USAGE = 'usage: npm run nightly -- --matrix FILE [--out DIR]   (DIR: reports/nightly; one folder per night)';

function fail(message: string, code = 2): never {
  console.error(`error: ${message}`);
  process.exit(code);
}

let values: { matrix?: string; out?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: { matrix: { type: 'string', short: 'm' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (e) {
  fail(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.matrix) fail(`--matrix FILE is needed (an example: nightly.yaml)\n${USAGE}`);

let matrix: ReturnType<typeof loadMatrix>;
try {
  matrix = loadMatrix(values.matrix);
} catch (e) {
  fail((e as MatrixError).message);
}
const historyFile = historyPath();
if (!historyFile) fail('the nightly runner compares through the run history: unset L2LAB_HISTORY=off');
const lab = findLab({ lab: matrix.lab });
// Every subject checked before the first cell runs.
const problems: string[] = [];
const leaseBased = new Map<string, boolean>();
for (const s of matrix.subjects)
  try {
    leaseBased.set(s, loadSubject(s, lab.lease).lease !== undefined);
  } catch (e) {
    problems.push(`subjects: ${(e as Error).message}`);
  }
if (matrix.versions && !matrix.subjects.includes('cilium'))
  problems.push('versions.cilium: the subjects do not include cilium');
const upgrade = matrix.versions && upgradeProblem(lab, matrix.versions.cilium);
if (upgrade) problems.push(`versions.cilium: ${upgrade}`);
if (problems.length) fail(`${values.matrix}:\n  ${problems.join('\n  ')}`);

const root = resolve(values.out ?? join(repoRoot, 'reports', 'nightly'));
const started = new Date();
const stamp = utcStamp(started);
const nightDir = join(root, stamp);
mkdirSync(join(nightDir, 'junit'), { recursive: true });
const night: Night = {
  schema: 'l2lab.nightly/v1',
  startedAt: started.toISOString(),
  matrix: resolve(values.matrix),
  cells: [],
};
const plan = expand(matrix, (s) => leaseBased.get(s) ?? false);
console.log(`l2lab nightly: ${plan.length} cells on lab ${lab.name} → ${nightDir}`);

let stopping: NodeJS.Signals | undefined;
let current: ProcessPromise | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (!stopping) console.error(`\nnightly: ${sig}: stopping after the cell running now (its faults are undone)`);
    stopping = sig;
    // The cell's process undoes its faults and exits; in a terminal it got the signal already.
    void current?.kill(sig).catch(() => {});
  });

/** The night's record and page, atomically, after every cell: what is done stays done. */
function save(): void {
  const tmp = join(nightDir, 'night.json.l2l-tmp');
  writeFileSync(tmp, `${JSON.stringify(night, null, 2)}\n`);
  renameSync(tmp, join(nightDir, 'night.json'));
  writeFileSync(join(nightDir, 'index.html'), nightHtml(night));
}

async function runCell(cell: Cell, index: number): Promise<CellOutcome> {
  const t0 = Date.now();
  const dir = join(nightDir, cell.id);
  const [duration, renew, retry] = cell.lease?.split('/') ?? [];
  const args = [
    'conformance',
    '--lab',
    lab.file,
    '--subject',
    cell.subject,
    '--trials',
    String(matrix.trials),
    '--out',
    dir,
    ...(matrix.faults ? ['--faults', matrix.faults.join(',')] : []),
    ...(matrix.only ? ['--only', matrix.only.join(',')] : []),
    ...(matrix.skip ? ['--skip', matrix.skip.join(',')] : []),
    ...(matrix.probeInterval ? ['--probe-interval', String(matrix.probeInterval)] : []),
    ...(cell.lease
      ? ['--lease-duration', duration!, '--lease-renew-deadline', renew!, '--lease-retry-period', retry!]
      : []),
    ...(cell.version ? ['--cilium-versions', cell.version] : []),
  ];
  console.log(`\n=== cell ${index + 1}/${plan.length}: ${cell.id}`);
  current = $({
    nothrow: true,
    quiet: true,
    env: { ...process.env, L2LAB_HISTORY: historyFile },
  })`node ${join(repoRoot, 'scripts', 'run.mjs')} ${args}`;
  let tail = '';
  current.stdout.on('data', (d: Buffer) => process.stdout.write(d));
  current.stderr.on('data', (d: Buffer) => {
    process.stderr.write(d);
    tail = (tail + d.toString()).slice(-4000);
  });
  const done = await current;
  current = undefined;
  const seconds = (Date.now() - t0) / 1000;
  const exitCode = done.exitCode ?? undefined;
  if (!existsSync(join(dir, 'results.json'))) {
    const interrupted = exitCode === 130 || stopping !== undefined;
    const last =
      tail
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('error:'))
        .pop() ?? tail.trim().split('\n').pop();
    return { ...cell, status: interrupted ? 'interrupted' : 'failed', exitCode, why: last, seconds };
  }
  const h = History.open(historyFile!);
  try {
    // The suite indexed the run; a history that refused it then gets it now.
    if (!h.find(dir)) h.importDirs([dir]);
    const run = h.find(dir);
    if (!run) return { ...cell, status: 'failed', exitCode, why: 'the run is not in the history', seconds };
    writeFileSync(join(dir, 'report.html'), runHtml(dir));
    if (existsSync(join(dir, 'junit.xml')))
      copyFileSync(join(dir, 'junit.xml'), join(nightDir, 'junit', `${cell.id}.xml`));
    const outcome: CellOutcome = {
      ...cell,
      status: 'done',
      exitCode,
      run: { name: run.name, dir: relative(nightDir, dir), passed: run.passed, failed: run.failed, errors: run.errors },
      html: `${cell.id}/report.html`,
      seconds,
    };
    // The previous night's matching run: same cell (subject, lease, Cilium version) on the same lab, from a night before this one.
    const previous = h
      .list({
        subject: cell.subject,
        lab: lab.name,
        ...(cell.lease ? { lease: cell.lease } : {}),
        ...(cell.version ? { version: cell.version } : {}),
      })
      .filter((r) => r.dir.startsWith(`${root}/`) && r.dir.endsWith(`/${cell.id}`) && r.startedAt < night.startedAt)
      .pop();
    if (previous) {
      const a = h.side(previous.name, [previous]);
      const b = h.side(run.name, [run]);
      const c = compareRuns(a, b);
      writeComparisonFiles(dir, c);
      writeFileSync(join(dir, 'compare.html'), compareHtml(c, a, b));
      outcome.compared = {
        with: relative(nightDir, previous.dir),
        regressions: c.regressions,
        improvements: c.improvements,
        html: `${cell.id}/compare.html`,
        markdown: `${cell.id}/compare.md`,
      };
      console.log(`against ${previous.name}: ${c.regressions} regressions, ${c.improvements} improvements`);
    }
    return outcome;
  } finally {
    h.close();
  }
}

for (const [i, cell] of plan.entries()) {
  if (stopping) {
    night.cells.push({ ...cell, status: 'not run', why: `stopped by ${stopping}`, seconds: 0 });
    continue;
  }
  let outcome: CellOutcome;
  try {
    outcome = await runCell(cell, i);
  } catch (e) {
    // One broken cell never loses the others.
    outcome = { ...cell, status: 'failed', why: (e as Error).message.split('\n')[0], seconds: 0 };
  }
  night.cells.push(outcome);
  save();
}
night.interrupted = stopping !== undefined;
night.finishedAt = new Date().toISOString();
save();

// latest → this night, for CI's test reporters (reports/nightly/latest/junit/*.xml).
const latest = join(root, 'latest');
rmSync(latest, { force: true });
symlinkSync(stamp, latest);
writeIndex();

function writeIndex(): void {
  const nights = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'night.json')))
    .flatMap((e) => {
      try {
        return [
          {
            dir: join(root, e.name),
            night: JSON.parse(readFileSync(join(root, e.name, 'night.json'), 'utf8')) as Night,
          },
        ];
      } catch {
        console.error(`nightly: ${e.name}/night.json cannot be read; left out of the index`);
        return [];
      }
    })
    .sort((x, y) => y.night.startedAt.localeCompare(x.night.startedAt));
  const ids = [...new Set(nights.flatMap((n) => n.night.cells.filter((c) => c.run).map((c) => c.id)))].sort();
  const h = History.open(historyFile!);
  try {
    const inRoot = h.list().filter((r) => r.dir.startsWith(`${root}/`)); // read once, for every cell
    const trends = ids.map((id) => {
      const runs = inRoot.filter((r) => r.dir.endsWith(`/${id}`));
      return { cell: id, runs, trials: h.trials(runs.map((r) => r.id)) };
    });
    writeFileSync(join(root, 'index.html'), indexHtml(nights, trends, root));
  } finally {
    h.close();
  }
}

const summary = night.cells.map(
  (c) => `${c.id}: ${c.status}${c.compared ? `, ${c.compared.regressions} regressions vs the night before` : ''}`,
);
console.log(`\nnightly ${stamp}:\n  ${summary.join('\n  ')}\nnight: ${nightDir}/index.html\nindex: ${root}/index.html`);
process.exit(nightExitCode(night));

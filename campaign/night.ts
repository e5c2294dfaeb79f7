// One night of the nightly matrix: the plan checked before anything runs, the cells run in turn
// (each its own conformance process, given by the caller: scripts/nightly.ts), each run indexed in
// the history, rendered and compared with the previous night's matching run; the night's record and
// page rewritten after every cell (a stop or a failed cell never loses the cells done), then the
// index with every cell's trend.
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
import { findLab } from '../lab/find-lab.ts';
import { LabFileError } from '../lab/labfile.ts';
import { dataPaths } from '../lab/paths.ts';
import type { Lab } from '../lab/types.ts';
import { compareRuns, writeComparisonFiles } from '../reports/compare-runs.ts';
import { History, historyPath } from '../reports/history.ts';
import { compareHtml, runHtml } from '../reports/html.ts';
import { indexHtml, nightExitCode, nightHtml } from '../reports/nightly.ts';
import { utcStamp } from '../reports/write.ts';
import type { Cell, CellOutcome, Night } from '../results/night.ts';
import { loadMatrix, type Matrix, MatrixError } from './matrix.ts';
import { planCampaign } from './plan.ts';
import { runCampaign } from './run.ts';

/** A cell's conformance process: its exit code and its last error line. */
export interface CellProcess {
  exitCode?: number;
  lastError?: string;
}

export interface NightOptions {
  matrixFile: string;
  /** Where nights go (one folder each, an index, `latest`); default DATA/nightly (lab/paths.ts dataPaths). */
  out?: string;
  /** Runs `conformance ARGS` as its own process, its output shown; resolves when it ends. */
  conformance(args: string[], env: Record<string, string>): Promise<CellProcess>;
  /** The reason once a stop was asked; the cell running then ends (its faults undone), the rest do not run. */
  stopped(): string | undefined;
  log(line: string): void;
}

/** A cell whose process wrote no results. */
class CellFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: number | undefined,
  ) {
    super(message);
  }
}

/** The conformance arguments for a cell; its version was reached before (the campaign moves it). */
export function cellArgs(m: Matrix, lab: Lab, cell: Cell, dir: string): string[] {
  const [duration, renew, retry] = cell.lease?.split('/') ?? [];
  return [
    ...['--lab', lab.file, '--subject', cell.subject, '--trials', String(m.trials), '--out', dir],
    ...(m.faults ? ['--faults', m.faults.join(',')] : []),
    ...(m.only ? ['--only', m.only.join(',')] : []),
    ...(m.skip ? ['--skip', m.skip.join(',')] : []),
    ...(m.probeInterval ? ['--probe-interval', String(m.probeInterval)] : []),
    ...(cell.lease
      ? ['--lease-duration', duration!, '--lease-renew-deadline', renew!, '--lease-retry-period', retry!]
      : []),
  ];
}

/** Runs a night; bad input (matrix, subjects, versions, history off) is a MatrixError before anything is created. */
export async function runNight(o: NightOptions): Promise<{ night: Night; dir: string; exitCode: number }> {
  const matrix = loadMatrix(o.matrixFile);
  const historyFile = historyPath();
  if (!historyFile)
    throw new MatrixError('the nightly runner compares through the run history: unset L2LAB_HISTORY=off');
  let lab: Lab;
  try {
    lab = findLab({ lab: matrix.lab });
  } catch (e) {
    // The matrix names the lab: its field, not a --lab flag the nightly runner does not have.
    const why = e instanceof LabFileError ? e.problems.map((p) => p.message).join('; ') : (e as Error).message;
    throw new MatrixError(
      `${o.matrixFile}: lab: ${matrix.lab}: ${why.replace(/; pass an existing file with --lab FILE/, '')}`,
    );
  }
  const plan = planCampaign(matrix, lab);
  if (plan.problems.length) throw new MatrixError(`${o.matrixFile}:\n  ${plan.problems.join('\n  ')}`);

  const root = resolve(o.out ?? dataPaths().nightly);
  const started = new Date();
  const stamp = utcStamp(started);
  const nightDir = join(root, stamp);
  mkdirSync(join(nightDir, 'junit'), { recursive: true });
  const night: Night = {
    schema: 'l2lab.nightly/v1',
    startedAt: started.toISOString(),
    matrix: resolve(o.matrixFile),
    cells: [],
  };
  o.log(`l2lab nightly: ${plan.cells.length} cells on lab ${lab.name} → ${nightDir}`);

  /** The night's record and page, atomically: what is done stays done. */
  const save = () => {
    const tmp = join(nightDir, 'night.json.l2l-tmp');
    writeFileSync(tmp, `${JSON.stringify(night, null, 2)}\n`);
    renameSync(tmp, join(nightDir, 'night.json'));
    writeFileSync(join(nightDir, 'index.html'), nightHtml(night));
  };

  const runCell = async (cell: Cell, index: number): Promise<CellOutcome> => {
    const t0 = Date.now();
    const dir = join(nightDir, cell.id);
    o.log(`\n=== cell ${index + 1}/${plan.cells.length}: ${cell.id}`);
    const p = await o.conformance(cellArgs(matrix, lab, cell, dir), { L2LAB_HISTORY: historyFile });
    if (!existsSync(join(dir, 'results.json')))
      throw new CellFailed(p.lastError ?? `the conformance run wrote no results (exit ${p.exitCode})`, p.exitCode);
    return recordCell(cell, dir, p.exitCode, (Date.now() - t0) / 1000);
  };

  const recordCell = (cell: Cell, dir: string, exitCode: number | undefined, seconds: number): CellOutcome => {
    const h = History.open(historyFile);
    try {
      // The suite indexed the run; a history that refused it then gets it now.
      if (!h.find(dir)) h.importDirs([dir]);
      const run = h.find(dir);
      if (!run) throw new CellFailed('the run is not in the history', exitCode);
      writeFileSync(join(dir, 'report.html'), runHtml(dir));
      if (existsSync(join(dir, 'junit.xml')))
        copyFileSync(join(dir, 'junit.xml'), join(nightDir, 'junit', `${cell.id}.xml`));
      const outcome: CellOutcome = {
        ...cell,
        status: 'done',
        exitCode,
        run: {
          name: run.name,
          dir: relative(nightDir, dir),
          passed: run.passed,
          failed: run.failed,
          errors: run.errors,
        },
        html: `${cell.id}/report.html`,
        seconds,
      };
      // The previous night's matching run: same cell (subject, lease, version) on the same lab, from
      // a night before this one (never this night's own run, whatever clock stamped it).
      const previous = h
        .list({
          subject: cell.subject,
          lab: lab.name,
          ...(cell.lease ? { lease: cell.lease } : {}),
          ...(cell.version ? { version: cell.version } : {}),
        })
        .filter(
          (r) =>
            r.dir.startsWith(`${root}/`) &&
            !r.dir.startsWith(`${nightDir}/`) &&
            r.dir.endsWith(`/${cell.id}`) &&
            r.startedAt < night.startedAt,
        )
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
        o.log(`against ${previous.name}: ${c.regressions} regressions, ${c.improvements} improvements`);
      }
      return outcome;
    } finally {
      h.close();
    }
  };

  await runCampaign({
    lab,
    cells: plan.cells,
    subjects: plan.subjects,
    run: runCell,
    stopped: o.stopped,
    progress: o.log,
    onCell: (x) => {
      night.cells.push(
        x.result ?? {
          ...x.cell,
          status: x.status,
          why: x.why,
          seconds: x.seconds,
          ...(x.error instanceof CellFailed && x.error.exitCode !== undefined ? { exitCode: x.error.exitCode } : {}),
        },
      );
      save();
    },
  });
  night.interrupted = o.stopped() !== undefined;
  night.finishedAt = new Date().toISOString();
  save();

  // latest → this night, for CI's test reporters (DATA/nightly/latest/junit/*.xml).
  const latest = join(root, 'latest');
  rmSync(latest, { force: true });
  symlinkSync(stamp, latest);
  writeIndex(root, historyFile, o.log);
  const summary = night.cells.map(
    (c) => `${c.id}: ${c.status}${c.compared ? `, ${c.compared.regressions} regressions vs the night before` : ''}`,
  );
  o.log(`\nnightly ${stamp}:\n  ${summary.join('\n  ')}\nnight: ${nightDir}/index.html\nindex: ${root}/index.html`);
  return { night, dir: nightDir, exitCode: nightExitCode(night) };
}

/** The index of every night under root, with each cell's trend over the nights. */
function writeIndex(root: string, historyFile: string, log: (line: string) => void): void {
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
        log(`nightly: ${e.name}/night.json cannot be read; left out of the index`);
        return [];
      }
    })
    .sort((x, y) => y.night.startedAt.localeCompare(x.night.startedAt));
  const ids = [...new Set(nights.flatMap((n) => n.night.cells.filter((c) => c.run).map((c) => c.id)))].sort();
  const h = History.open(historyFile);
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

// A night (campaign/night.ts) with its cell processes faked: each writes the results a conformance
// run would (or none, as a crashed one). What is the night's own job is real: the record after every
// cell, the runs indexed in a real history (SQLite), JUnit where CI reads it, the comparison with the
// night before, `latest`, the index and the exit code. The nightly lab test runs real cells.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import test from 'ava';
import { stringify } from 'yaml';
import { cellArgs, runNight } from '../../campaign/night.ts';
import { loadLab } from '../../lab/labfile.ts';
import { repoRoot } from '../../lab/paths.ts';
import { utcStamp } from '../../results/folder.ts';
import { fakeResults } from '../fake-results.ts';

const lab = loadLab(join(repoRoot, 'lab.yaml'));

let runs = 0;
/** What `conformance --out DIR --subject S --lease-… ` writes: six power-off trials of this ARP outage. */
function fakeRun(args: string[], outageMs: number, night: Date): void {
  const started = new Date(night.getTime() + 60_000 * runs++); // each run its own start, as real ones
  const flag = (f: string) => args[args.indexOf(f) + 1]!;
  const dir = flag('--out');
  const lease = args.includes('--lease-duration')
    ? {
        durationMs: Number(flag('--lease-duration')),
        renewDeadlineMs: Number(flag('--lease-renew-deadline')),
        retryPeriodMs: Number(flag('--lease-retry-period')),
      }
    : undefined;
  const results = fakeResults({
    subject: flag('--subject'),
    outages: Array.from({ length: 6 }, (_, i) => outageMs + i),
    started,
    lab: lab.name,
    ...(lease ? { lease } : {}),
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results));
  writeFileSync(join(dir, 'junit.xml'), '<testsuites/>\n');
}

/** A matrix, an out folder and a history of the test's own; the history through L2LAB_HISTORY, so the tests that call it run serially. */
function setup(t: { teardown(f: () => void): void }) {
  const scratch = mkdtempSync(join(tmpdir(), 'l2l-night-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  const before = process.env.L2LAB_HISTORY;
  process.env.L2LAB_HISTORY = join(scratch, 'history.sqlite');
  t.teardown(() => {
    if (before === undefined) delete process.env.L2LAB_HISTORY;
    else process.env.L2LAB_HISTORY = before;
  });
  const matrixFile = join(scratch, 'matrix.yaml');
  writeFileSync(
    matrixFile,
    stringify({ lab: lab.file, trials: 6, subjects: ['reference'], leases: ['1000/500/200', '2000/1000/400'] }),
  );
  return { scratch, matrixFile, out: join(scratch, 'nightly') };
}

test('a cell runs as conformance with the matrix and the cell in its arguments', (t) => {
  const args = cellArgs(
    { trials: 3, subjects: ['reference'], faults: ['power-off'], only: ['failover'], probeInterval: 20 },
    lab,
    { id: 'reference-lease-1000-500-200', subject: 'reference', lease: '1000/500/200' },
    '/tmp/cell',
  );
  t.deepEqual(args, [
    ...['--lab', lab.file, '--subject', 'reference', '--trials', '3', '--out', '/tmp/cell'],
    ...['--faults', 'power-off', '--only', 'failover', '--probe-interval', '20'],
    ...['--lease-duration', '1000', '--lease-renew-deadline', '500', '--lease-retry-period', '200'],
  ]);
});

test.serial(
  'two nights: every cell indexed, rendered and in JUnit; the second compared with the first; latest and the index',
  async (t) => {
    const { matrixFile, out } = setup(t);
    const night = (outageMs: number, started: Date) =>
      runNight({
        matrixFile,
        out,
        conformance: async (args) => {
          fakeRun(args, outageMs, started);
          return { exitCode: 0 };
        },
        stopped: () => undefined,
        log: () => {},
      });
    const first = await night(1000, new Date(Date.UTC(2026, 11, 1)));
    t.is(first.exitCode, 0);
    t.deepEqual(
      first.night.cells.map((c) => [c.id, c.status, c.compared]),
      [
        ['reference-lease-1000-500-200', 'done', undefined],
        ['reference-lease-2000-1000-400', 'done', undefined],
      ],
    );
    for (const c of first.night.cells) {
      t.true(existsSync(join(first.dir, c.html!)), `${c.id}: report.html`);
      t.true(existsSync(join(first.dir, 'junit', `${c.id}.xml`)), `${c.id}: JUnit`);
    }
    t.deepEqual(JSON.parse(readFileSync(join(first.dir, 'night.json'), 'utf8')).cells.length, 2, 'the record on disk');

    // A night's folder is stamped to the second: the second night starts once the stamp moved on.
    while (utcStamp() === basename(first.dir)) await new Promise((r) => setTimeout(r, 20));
    const second = await night(2000, new Date(Date.UTC(2026, 11, 2)));
    t.not(second.dir, first.dir);
    t.is(readlinkSync(join(out, 'latest')), basename(second.dir));
    for (const c of second.night.cells) {
      t.truthy(c.compared, `${c.id}: compared with the night before`);
      t.regex(c.compared!.with, new RegExp(`/${c.id}$`));
      t.is(c.compared!.regressions, 1, `${c.id}: 1000 → 2000 ms is a regression`);
      t.true(existsSync(join(second.dir, c.compared!.html)));
    }
    t.is(second.exitCode, 1, 'a regression fails the night');
    const index = readFileSync(join(out, 'index.html'), 'utf8');
    t.is(index.match(/class="l2l-trend"/g)?.length, 2, 'a trend per cell');
  },
);

test.serial(
  'a cell that wrote no results fails with its last error; the next cell still runs; a stop ends the night',
  async (t) => {
    const { matrixFile, out } = setup(t);
    let stop: string | undefined;
    let calls = 0;
    const r = await runNight({
      matrixFile,
      out,
      conformance: async (args) => {
        calls++;
        if (calls === 1) return { exitCode: 3, lastError: 'install failed: agent did not start' };
        fakeRun(args, 1000, new Date());
        stop = 'SIGTERM'; // asked while the second cell ran
        return { exitCode: 0 };
      },
      stopped: () => stop,
      log: () => {},
    });
    t.like(r.night.cells[0], { status: 'failed', exitCode: 3, why: 'install failed: agent did not start' });
    t.like(r.night.cells[1], { status: 'done' });
    t.true(r.night.interrupted);
    t.is(r.exitCode, 130, 'a stopped night ends as Ctrl-C does');
    const saved = JSON.parse(readFileSync(join(r.dir, 'night.json'), 'utf8'));
    t.is(saved.cells.length, 2);
    t.truthy(saved.finishedAt);
  },
);

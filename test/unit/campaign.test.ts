// The campaign runner (campaign/): the plan (subjects × versions × leases, every problem at once)
// and the run (moves along a version axis only when needed, one broken cell loses no other, a stop
// ends the campaign). Moves and runs are stand-ins here; the nightly and --subjects tests run them for real.
import { join } from 'node:path';
import test from 'ava';
import { planCampaign } from '../../campaign/plan.ts';
import { type Outcome, runCampaign } from '../../campaign/run.ts';
import { loadSubject } from '../../conformance/subject.ts';
import { versionAxis } from '../../conformance/versions/index.ts';
import { loadLab } from '../../lab/labfile.ts';
import { repoRoot } from '../../lab/paths.ts';
import type { Cell } from '../../results/night.ts';

const cilium = loadLab(join(repoRoot, 'labs', 'cilium.yaml'));
const quiet = () => {};

test('the cilium subject declares its version axis: the released charts, upgraded in place', (t) => {
  const s = loadSubject('cilium', cilium.lease);
  t.is(s.versions, 'cilium-chart');
  t.is(versionAxis(s.versions!).problem(cilium, ['1.20.0']), undefined);
  t.is(loadSubject('reference', cilium.lease).versions, undefined, 'the reference runs at the version installed');
  t.throws(() => versionAxis('apt'), { message: /unknown version axis "apt"; axes: cilium-chart/ });
});

test('a plan: subjects × their versions × leases (lease-based subjects only), in order', (t) => {
  const p = planCampaign(
    {
      subjects: ['reference', 'keepalived:fast', 'cilium'],
      versions: { cilium: ['1.20.0', '1.21.0-pre.0'] },
      leases: ['1000/500/200', '2000/1000/400'],
    },
    cilium,
  );
  t.deepEqual(p.problems, []);
  t.deepEqual(
    p.cells.map((c) => c.id),
    [
      'reference-lease-1000-500-200',
      'reference-lease-2000-1000-400',
      'keepalived-fast',
      'cilium-1.20.0-lease-1000-500-200',
      'cilium-1.20.0-lease-2000-1000-400',
      'cilium-1.21.0-pre.0-lease-1000-500-200',
      'cilium-1.21.0-pre.0-lease-2000-1000-400',
    ],
  );
  t.like(p.cells[3], { subject: 'cilium', version: '1.20.0', lease: '1000/500/200' });
  t.is(p.subjects.get('keepalived:fast')?.name, 'keepalived:fast');
});

test('every problem of a plan at once, each with its field', (t) => {
  const p = planCampaign(
    {
      subjects: ['reference', 'referense', 'cilium'],
      versions: { cilium: ['1.20.0-pre.1'], reference: ['2.0'], frr: ['10.0'] },
    },
    cilium,
  );
  // frr: not said to be missing — the subject that did not load may have been meant as it.
  t.is(p.problems.length, 3, p.problems.join('\n'));
  t.regex(p.problems[0]!, /^subjects: no subject "referense": built-in subjects are/);
  t.regex(p.problems[1]!, /^versions\.cilium: Cilium 1\.20\.0-pre\.1 needs Gateway API v1\.4\.1/);
  t.regex(p.problems[2]!, /^versions\.reference: subject reference has no version axis/);
  const ok = planCampaign({ subjects: ['reference', 'frr'], versions: { frr: ['10.0'] } }, cilium);
  t.deepEqual(ok.problems, ['versions.frr: subject frr has no version axis (its file sets no `versions:`)']);
  const missing = planCampaign({ subjects: ['reference'], versions: { cilium: ['1.20.0'] } }, cilium);
  t.deepEqual(missing.problems, ['versions.cilium: the subjects do not include cilium']);
  t.deepEqual(
    missing.cells.map((c) => c.id),
    ['reference'],
    'versions of a subject not run add no cells',
  );
});

/** A campaign over cells with stand-in moves and runs; `fail` names cells whose run throws. */
async function campaign(
  cells: Cell[],
  opts: { fail?: string[]; failMove?: string[]; stopAt?: string; keepGoing?: boolean } = {},
) {
  const p = planCampaign({ subjects: [...new Set(cells.map((c) => c.subject))] }, cilium);
  const moves: string[] = [];
  const ran: string[] = [];
  const saved: number[] = [];
  let stop: string | undefined;
  const outcomes = await runCampaign<string>({
    lab: cilium,
    cells,
    subjects: p.subjects,
    progress: quiet,
    ...(opts.keepGoing === undefined ? {} : { keepGoing: opts.keepGoing }),
    stopped: () => stop,
    async move(s, v) {
      moves.push(`${s.name}@${v}`);
      if (opts.failMove?.includes(v)) throw new Error(`upgrading to ${v} failed`);
    },
    async run(cell) {
      if (cell.id === opts.stopAt) {
        stop = 'stopped by SIGINT';
        throw new Error('interrupted');
      }
      ran.push(cell.id);
      if (opts.fail?.includes(cell.id)) throw new Error(`${cell.id}: install failed\nmore`);
      return `results of ${cell.id}`;
    },
    onCell: (_o: Outcome<string>, all) => saved.push(all.length),
  });
  return { outcomes, moves, ran, saved, status: outcomes.map((o) => [o.cell.id, o.status, o.why]) };
}

const cell = (subject: string, version?: string, lease?: string): Cell => ({
  id: [subject, version, lease].filter(Boolean).join('-'),
  subject,
  ...(version ? { version } : {}),
  ...(lease ? { lease } : {}),
});

test('a subject is moved to a version once, before the first cell at it; a failed move fails that cell only', async (t) => {
  const cells = [cell('cilium', '1.20.0', 'a'), cell('cilium', '1.20.0', 'b'), cell('cilium', '1.21.0', 'a')];
  const r = await campaign(cells);
  t.deepEqual(r.moves, ['cilium@1.20.0', 'cilium@1.21.0']);
  t.deepEqual(
    r.ran,
    cells.map((c) => c.id),
  );
  t.deepEqual(r.outcomes[0]!.result, 'results of cilium-1.20.0-a');
  t.deepEqual(r.saved, [1, 2, 3], 'saved after every cell');

  const broken = await campaign(cells, { failMove: ['1.20.0'] });
  t.deepEqual(
    broken.moves,
    ['cilium@1.20.0', 'cilium@1.20.0', 'cilium@1.21.0'],
    'tried again: it is at no known version',
  );
  t.deepEqual(broken.status, [
    ['cilium-1.20.0-a', 'failed', 'upgrading to 1.20.0 failed'],
    ['cilium-1.20.0-b', 'failed', 'upgrading to 1.20.0 failed'],
    ['cilium-1.21.0-a', 'done', undefined],
  ]);
});

test('side by side one broken cell loses no other; in turn (keepGoing false) the campaign stops there', async (t) => {
  const cells = [cell('reference'), cell('keepalived'), cell('frr')];
  const r = await campaign(cells, { fail: ['keepalived'] });
  t.deepEqual(r.status, [
    ['reference', 'done', undefined],
    ['keepalived', 'failed', 'keepalived: install failed'],
    ['frr', 'done', undefined],
  ]);
  t.true(r.outcomes[1]!.error instanceof Error, 'the error itself, for the caller');
  const strict = await campaign(cells, { fail: ['keepalived'], keepGoing: false });
  t.deepEqual(
    strict.status.map((s) => s[1]),
    ['done', 'failed'],
  );
});

test('a stop: the cell running is interrupted, not failed; the rest are not run, with the reason', async (t) => {
  const cells = [cell('reference'), cell('keepalived'), cell('frr')];
  const r = await campaign(cells, { stopAt: 'keepalived' });
  t.deepEqual(r.status, [
    ['reference', 'done', undefined],
    ['keepalived', 'interrupted', 'interrupted'],
    ['frr', 'not run', 'stopped by SIGINT'],
  ]);
  t.deepEqual(r.ran, ['reference']);
  t.deepEqual(r.saved, [1, 2, 3], 'a cell not run is recorded too');
});

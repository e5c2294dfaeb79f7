// The nightly runner (`l2lab nightly`, zx) on the netns lab: a bad matrix is refused with every
// field named; a night of two cells, each a real conformance process, and the index page with
// their trends in headless Chromium; a night with a broken cell that is then interrupted keeps what
// was done and leaves the lab without a fault. Comparing with the night before is unit-tested
// (test/unit/night.test.ts). The systemd units pass systemd-analyze.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { stringify } from 'yaml';
import { loadLab } from '../../lab/labfile.ts';
import { labDown } from '../../lab/lifecycle.ts';
import type { Night } from '../../results/night.ts';
import { L2LAB, labFile, netns, quiet, repo } from '../helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'l2l-nightly-'));
const labPath = labFile('tnight', 115);
const lab = loadLab(labPath);
const out = join(scratch, 'nightly');
const env = { L2LAB_HISTORY: join(scratch, 'history.sqlite') };
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
  rmSync(scratch, { recursive: true, force: true });
});

function matrix(name: string, doc: Record<string, unknown>): string {
  const file = join(scratch, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

const nightly = (file: string) =>
  execa('node', [L2LAB, 'nightly', '--matrix', file, '--out', out], {
    cwd: repo,
    env,
    reject: false,
  });

const lastNight = (): Night => JSON.parse(readFileSync(join(out, 'latest', 'night.json'), 'utf8'));

test.serial('a bad matrix is refused before anything runs, every field named', async (t) => {
  const r = await nightly(
    matrix('bad', { trials: 0, leases: ['1000'], subjects: [], colour: 'red', versions: { cilium: ['1.19.1'] } }),
  );
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /trials: .*>=\s*1/);
  t.regex(r.stderr, /leases\.0: a lease is "duration\/renewDeadline\/retryPeriod"/);
  t.regex(r.stderr, /subjects: name at least one subject/);
  t.regex(r.stderr, /colour/);
  t.false(existsSync(out), 'nothing was started');
  const unknown = await nightly(matrix('unknown', { subjects: ['referense'], lab: labPath }));
  t.is(unknown.exitCode, 2);
  t.regex(unknown.stderr, /subjects: .*referense/);
});

const good = () =>
  matrix('good', {
    lab: labPath,
    trials: 2,
    faults: ['graceful-stop'],
    only: ['failover'],
    subjects: ['reference'],
    leases: ['1000/500/200', '2000/1000/400'],
  });

// One real night (each cell a real conformance process); the comparison with the night before,
// the record after every cell and the index's bookkeeping are unit-tested (test/unit/night.test.ts).
test.serial(
  'a night: each cell runs as its own process, is indexed and rendered, with JUnit where CI reads it',
  async (t) => {
    const first = await nightly(good());
    t.is(first.exitCode, 0, first.stderr.slice(-2000));
    const n1 = lastNight();
    t.deepEqual(
      n1.cells.map((c) => [c.id, c.status]),
      [
        ['reference-lease-1000-500-200', 'done'],
        ['reference-lease-2000-1000-400', 'done'],
      ],
    );
    const night1 = readlinkSync(join(out, 'latest'));
    for (const c of n1.cells) {
      t.true(existsSync(join(out, night1, c.html!)), `${c.id}: report.html`);
      t.true(existsSync(join(out, night1, 'junit', `${c.id}.xml`)), `${c.id}: JUnit where CI reads it`);
      t.is(c.compared, undefined, 'no night before the first');
      t.true((c.run?.passed ?? 0) > 0, `${c.id}: a real run with checks passed`);
    }

    // The index: every night, and a trend per cell that has runs, in Chromium.
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    t.teardown(() => browser.close());
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`file://${join(out, 'index.html')}`);
    t.deepEqual(problems, []);
    t.is(await page.locator('svg.l2l-trend').count(), 2, 'one trend per cell with runs');
    const links = await page.locator('a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    t.is(links.length, 1, 'one link per night');
    for (const l of links) t.true(existsSync(new URL(l).pathname), l);
    await page.screenshot({ path: join(repo, 'reports', '.test-artifacts', 'nightly-index.png'), fullPage: true });
  },
);

test.serial(
  'a broken cell and then Ctrl-C: the cells done are kept, the rest are not run, no fault stays',
  async (t) => {
    const file = matrix('broken', {
      lab: labPath,
      trials: 3,
      faults: ['graceful-stop'],
      only: ['failover'],
      subjects: [join(repo, 'test/fixtures/subjects/install-fails.yaml'), 'reference', 'keepalived:fast'],
      leases: ['3000/1500/500'],
    });
    const child = spawn('node', [L2LAB, 'nightly', '--matrix', file, '--out', out], {
      cwd: repo,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    let sent = false;
    const onData = (d: Buffer) => {
      text += d.toString();
      // Only the runner gets the signal (as from `kill` or systemd): it must stop the cell's process itself.
      if (!sent && /cell 2\/3[\s\S]*graceful-stop #1: .*injecting/.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    t.true(sent, text.slice(-2000));
    t.is(code, 130, text.slice(-2000));
    const n = lastNight();
    t.true(n.interrupted);
    t.like(n.cells[0], { status: 'failed' });
    t.regex(n.cells[0]!.why ?? '', /install|playbook|fail/i);
    t.like(n.cells[1], { id: 'reference-lease-3000-1500-500', status: 'interrupted' });
    t.like(n.cells[2], { id: 'keepalived-fast', status: 'not run' });
    const s = await netns.status(lab);
    t.deepEqual(s.faults, []);
    t.is(s.state, 'up');
  },
);

test('the systemd units pass systemd-analyze verify (paths pointed at this checkout)', async (t) => {
  const dir = mkdtempSync(join(scratch, 'units-'));
  for (const f of ['l2lab-nightly.service', 'l2lab-nightly.timer'])
    writeFileSync(
      join(dir, f),
      readFileSync(join(repo, 'contrib/systemd', f), 'utf8').replaceAll('/opt/l2lab', repo.replace(/\/$/, '')),
    );
  const r = await execa(
    'systemd-analyze',
    ['verify', '--man=no', join(dir, 'l2lab-nightly.service'), join(dir, 'l2lab-nightly.timer')],
    {
      reject: false,
    },
  );
  // verify exits 0 on unknown keys and bad values; what it says on stderr is the verdict.
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stderr.trim(), '');
});

// The run history and comparisons: folders imported (corrupt ones reported and skipped, none
// changed), selections, the rank test's verdicts, the CLI's exit code; then real runs on the netns
// lab, where a longer lease must show as a regression and the same settings twice as no change.
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { buildBundles } from '../../conformance/bundles.ts';
import type { RunResults } from '../../conformance/model.ts';
import { runSuite } from '../../conformance/suite.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown } from '../../lab/lifecycle.ts';
import { compareInTurn, compareRuns, type Side } from '../../reports/compare-runs.ts';
import { History } from '../../reports/history.ts';
import { writeRun as writeRunFolder } from '../../reports/write.ts';
import { fakeResults } from '../fake-results.ts';
import { L2LAB, labFile, netns, quiet, repo } from '../helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'l2l-history-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

let serial = 0;
/** A run's results: power-off trials with these ARP outages (null: no takeover), one second apart. */
const results = (subject: string, outages: (number | null)[], opts: { version?: string; failover?: boolean } = {}) =>
  fakeResults({
    subject,
    outages,
    started: new Date(Date.UTC(2026, 10, 1, 0, 0, serial++)),
    ...(opts.version ? { version: opts.version } : {}),
    failover: opts.failover === false ? 'failed' : 'passed',
  });

function writeRun(parent: string, name: string, r: RunResults | string): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), typeof r === 'string' ? r : JSON.stringify(r, null, 2));
  return dir;
}

function digest(dir: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()))
    h.update(`${f.name}\n`).update(readFileSync(join(f.parentPath, f.name)));
  return h.digest('hex');
}

const report = (history: string, ...args: string[]) =>
  execa('node', [L2LAB, 'report', ...args], {
    env: { L2LAB_HISTORY: history },
    reject: false,
  });

test('import indexes run folders, reports corrupt or unfinished ones and skips them, and changes no folder', async (t) => {
  const reports = join(scratch, 'import');
  writeRun(reports, '20261101T000000Z-reference-1', results('reference', [1000, 1010, 1020]));
  writeRun(reports, '20261101T000100Z-keepalived-2', results('keepalived:fast', [300, 310, 290]));
  writeRun(
    reports,
    '20261101T000200Z-reference-3',
    '{"schema": "l2lab.conformance/v1", "startedAt": "2026-11-01T00:02:00Z", "subj',
  );
  writeRun(reports, '20261101T000300Z-other-4', JSON.stringify({ schema: 'something/v9', startedAt: 'x' }));
  mkdirSync(join(reports, '20261101T000400Z-reference-5')); // a run cut short: no results.json
  mkdirSync(join(reports, '20261101T000500Z-subjects'));
  writeFileSync(join(reports, '20261101T000500Z-subjects', 'comparison.json'), '{}'); // not a run
  const before = digest(reports);
  const path = join(scratch, 'import.sqlite');

  // A folder that is not there is a typo: refused before anything is imported.
  const typo = await report(path, 'import', reports, join(scratch, 'no-such-folder'));
  t.is(typo.exitCode, 2);
  t.regex(typo.stderr, /import: no folder .*no-such-folder/);
  t.false(existsSync(path), 'nothing written: not even the history file');

  const first = await report(path, 'import', reports);
  t.is(first.exitCode, 0, first.stderr); // a corrupt folder is reported, never fatal
  t.regex(first.stdout, /2 added, 0 updated, 0 unchanged, 3 skipped/);
  t.regex(first.stderr, /000200Z-reference-3: results\.json is not JSON/);
  t.regex(first.stderr, /000300Z-other-4: results\.json is not an l2lab run: schema/);
  t.regex(first.stderr, /000400Z-reference-5: no results\.json \(the run did not finish\)/);
  t.notRegex(first.stderr, /subjects/);
  t.is(digest(reports), before, 'importing changed a run folder');

  const again = await report(path, 'import', reports);
  t.regex(again.stdout, /0 added, 0 updated, 2 unchanged, 3 skipped/);

  // A copy of a run is the same run: indexed once, the copy named; a folder moved follows its run.
  const copies = join(scratch, 'copies');
  cpSync(join(reports, '20261101T000000Z-reference-1'), join(copies, '20261101T000000Z-reference-1'), {
    recursive: true,
  });
  const copied = await report(path, 'import', copies);
  t.regex(copied.stdout, /0 added, 0 updated, 0 unchanged, 1 skipped/);
  t.regex(
    copied.stderr,
    /copies\/20261101T000000Z-reference-1: a copy of the run in .*import\/20261101T000000Z-reference-1/,
  );
  const moved = join(scratch, 'moved');
  mkdirSync(moved);
  renameSync(join(reports, '20261101T000100Z-keepalived-2'), join(moved, '20261101T000100Z-keepalived-2'));
  t.regex((await report(path, 'import', moved)).stdout, /0 added, 1 updated/);
  renameSync(join(moved, '20261101T000100Z-keepalived-2'), join(reports, '20261101T000100Z-keepalived-2'));

  const h = History.open(path);
  t.teardown(() => h.close());
  t.deepEqual(
    h.list().map((r) => [r.subject, r.trials]),
    [
      ['reference', 3],
      ['keepalived:fast', 3],
    ],
  );
  t.deepEqual(
    h.list({ subject: 'keepalived:fast' }).map((r) => r.name),
    ['20261101T000100Z-keepalived-2'],
  );
  t.deepEqual(
    h.list({ since: h.list()[1]!.startedAt }).map((r) => r.subject),
    ['keepalived:fast'],
  );
  const listed = await report(path, 'list', '--subject', 'reference');
  t.regex(listed.stdout, /20261101T000000Z-reference-1 .* reference .* demo .* netns/);
  t.regex(listed.stdout, /1 run /);
});

test('compare: a slower distribution is a regression (exit 1), a like one is no change, few trials give no verdict', async (t) => {
  const reports = join(scratch, 'compare');
  const fast = [1000, 1040, 980, 1020, 1010, 1030];
  writeRun(reports, 'a-fast', results('reference', fast));
  writeRun(reports, 'a-fast-again', results('reference', [1015, 995, 1035, 1005, 1025, 990]));
  writeRun(reports, 'b-slow', results('reference', [2000, 2100, 1950, 2050, 2020, 1990], { version: '2.0' }));
  writeRun(reports, 'c-three', results('reference', [2000, 2100, 1950]));
  writeRun(reports, 'd-never', results('reference', [1000, null, null, null, null, null], { failover: false }));
  const path = join(scratch, 'compare.sqlite');
  t.is((await report(path, 'import', reports)).exitCode, 0);

  const slower = await report(path, 'compare', 'a-fast', 'b-slow', '--out', join(scratch, 'cmp'));
  t.is(slower.exitCode, 1, 'a regression must fail CI');
  t.regex(
    slower.stdout,
    /regression: failover power-off arp: p = 0\.00\d+ < α = 0\.05, δ = 1\.00, median 1010 ms → 2000 ms/,
  );
  const json = JSON.parse(readFileSync(join(scratch, 'cmp', 'compare.json'), 'utf8'));
  t.is(json.schema, 'l2lab.run-comparison/v1');
  t.is(json.regressions, 1);
  t.like(json.figures[0], { fault: 'power-off', family: 'arp', verdict: 'regression', a: { n: 6, median: 1010 } });
  t.regex(
    readFileSync(join(scratch, 'cmp', 'compare.md'), 'utf8'),
    /\| failover \| power-off \| arp \|.*\| regression \|/,
  );

  const back = await report(path, 'compare', 'b-slow', 'a-fast');
  t.is(back.exitCode, 0);
  t.regex(back.stdout, /improvement: failover power-off arp/);

  const same = await report(path, 'compare', 'a-fast', 'a-fast-again', '--json');
  t.is(same.exitCode, 0, same.stdout);
  t.is(JSON.parse(same.stdout).figures[0].verdict, 'no significant change');

  const few = await report(path, 'compare', 'a-fast', 'c-three');
  t.is(few.exitCode, 0);
  t.regex(few.stdout, /too few trials/);
  // "0 regressions" would prove nothing: the headline says there is no verdict, and how to get one.
  t.regex(
    few.stdout,
    /^no verdict: 1 of 1 outage figures have too few trials \(a verdict needs 5 a side\).*`l2lab test --trials 5`/m,
  );
  t.notRegex(few.stdout, /^0 regressions/m);

  // A run against itself is refused; selections that share runs are warned about.
  const self = await report(path, 'compare', 'a-fast', 'a-fast');
  t.is(self.exitCode, 2);
  t.regex(self.stderr, /a and b are the same run \(a-fast\)/);
  const overlap = await report(path, 'compare', 'subject=reference,version=1.0', 'a-fast');
  t.regex(overlap.stdout, /warning: a and b share a-fast: a run compared with itself shows no change by construction/);

  // No takeover is worse than any outage, and a check that starts failing is a regression.
  const never = await report(path, 'compare', 'a-fast', 'd-never', '--json');
  const n = JSON.parse(never.stdout);
  t.is(never.exitCode, 1);
  t.like(n.figures[0], { verdict: 'regression', b: { n: 6, noTakeover: 5 } });
  t.like(
    n.checks.find((c: { check: string }) => c.check === 'failover'),
    { change: 'newly failing' },
  );
  t.is(n.regressions, 2);

  // A selection pools the runs it matches (last=N: the N most recent).
  const pooled = await report(
    path,
    'compare',
    'subject=reference,version=1.0,last=2',
    'subject=reference,version=2.0',
    '--json',
  );
  t.like(JSON.parse(pooled.stdout).a, { runs: ['c-three', 'd-never'] });
});

test('--cilium-versions ends with each version against the one before it', (t) => {
  // The flow's own comparison, from the runs' results (the cluster upgrade itself runs only on users' machines).
  const runs = [
    { v: '1.19.1', o: [1000, 1010, 990, 1005, 995] },
    { v: '1.20.0', o: [1002, 1012, 992, 1001, 999] },
    { v: '1.21.0', o: [3000, 3010, 2990, 3005, 2995] },
  ].map(({ v, o }) => ({ dir: join(scratch, `cilium-${v}`), results: results('cilium', o, { version: v }) }));
  const cs = compareInTurn(runs, (r) => `${r.subject} ${r.version}`);
  t.deepEqual(
    cs.map((c) => [c.a.label, c.b.label, c.figures[0]!.verdict, c.regressions]),
    [
      ['cilium 1.19.1', 'cilium 1.20.0', 'no significant change', 0],
      ['cilium 1.20.0', 'cilium 1.21.0', 'regression', 1],
    ],
  );
});

test('bad selections and runs are refused with the fix', async (t) => {
  const path = join(scratch, 'empty.sqlite');
  const badKey = await report(path, 'compare', 'subjekt=reference', 'x');
  t.is(badKey.exitCode, 2);
  t.regex(badKey.stderr, /a: "subjekt=reference" is not key=value with a key from subject, version, lab/);
  const missing = await report(path, 'compare', 'nope', 'subject=x');
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /a: no run "nope" in the history .* `l2lab report list` shows them/);
  const since = await report(path, 'list', '--since', 'yesterday-ish');
  t.is(since.exitCode, 2);
  t.regex(since.stderr, /--since must be a date or time such as 2026-12-01/);
  const verb = await report(path, 'lsit');
  t.is(verb.exitCode, 2);
  t.regex(verb.stderr, /unknown command 'lsit'/);
});

test('rank test on its own: identical samples give no change; a shift under 25 % is not a regression', (t) => {
  const side = (label: string, outages: number[]): Side => {
    const r = results('reference', outages);
    return {
      label,
      runs: [
        {
          id: label,
          name: label,
          dir: label,
          startedAt: r.startedAt,
          finishedAt: r.finishedAt,
          subject: 'reference',
          version: '1',
          lab: 'demo',
          provider: 'netns',
          lease: null,
          l2labCommit: 'x',
          kernel: 'k',
          probeIntervalMs: 20,
          passed: 1,
          failed: 0,
          skipped: 0,
          errors: 0,
          trials: outages.length,
        },
      ],
      checks: [],
      trials: outages.map((o, i) => ({
        runId: label,
        check: 'failover',
        fault: 'power-off',
        trial: i,
        budgetMs: 1,
        passed: true,
        arpOutageMs: o,
      })),
    };
  };
  const same = compareRuns(side('a', [5, 5, 5, 5, 5]), side('b', [5, 5, 5, 5, 5]));
  t.is(same.figures[0]!.verdict, 'no significant change');
  // Every trial 5 % slower: significant, but under 25 % of the median and so not a regression.
  const small = compareRuns(side('a', [1000, 1001, 1002, 1003, 1004]), side('b', [1050, 1051, 1052, 1053, 1054]));
  t.is(small.figures[0]!.verdict, 'no significant change');
  t.true(small.figures[0]!.pValue! < 0.05);
  t.regex(small.figures[0]!.why, /differ by 50 ms, under 251 ms \(25 % of a.s median/);
});

// Real runs: the reference announcer with one lease twice and a slower lease, 5 power cuts each,
// indexed by the suite itself. (keepalived's 0.1 s → 1 s adverts, a regression of a subject's own
// setting, ran here until 2026-12-06 — 262 → 2539 ms, docs/history.md — and went to keep CI under
// 45 minutes: it took the same path through compare as the lease.)
const lab = loadLab(labFile('thist', 114));
test.serial('real runs: the slower lease is a regression, the same settings twice are not', async (t) => {
  await buildBundles();
  t.teardown(() => labDown(lab.name, quiet, netns));
  const path = join(scratch, 'real.sqlite');
  // as the CLI does: the suite returns the results, writeRun writes the folder and indexes it
  const run = async (
    subject: string,
    lease?: { durationMs: number; renewDeadlineMs: number; retryPeriodMs: number },
  ) => {
    const r = await runSuite({
      lab,
      subject,
      trials: 5,
      faults: ['power-off'],
      only: ['failover'],
      lease,
      progress: () => {},
      outDir: mkdtempSync(join(scratch, 'run-')),
    });
    writeRunFolder(r.dir, r.results, { history: path });
    return r;
  };
  const fast = { durationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 200 };
  const slow = { durationMs: 2000, renewDeadlineMs: 1000, retryPeriodMs: 400 };
  const a1 = await run('reference', fast);
  const a2 = await run('reference', fast);
  const b = await run('reference', slow);

  const h = History.open(path);
  t.teardown(() => h.close());
  t.is(h.list().length, 3, 'the suite indexes each run it finishes');
  const side = (dir: string) => h.side(dir, [h.find(dir)!]);
  const arp = (c: ReturnType<typeof compareRuns>) => c.figures.find((f) => f.family === 'arp')!;
  const same = compareRuns(side(a1.dir), side(a2.dir));
  const said = (c: ReturnType<typeof compareRuns>) => {
    const f = arp(c);
    return `${f.a.median} → ${f.b.median} ms, p ${f.pValue?.toPrecision(2)}, δ ${f.effect?.toFixed(2)}: ${f.verdict}`;
  };
  t.is(arp(same).verdict, 'no significant change', JSON.stringify(arp(same)));
  t.is(same.regressions, 0, JSON.stringify(same.figures));
  const longer = compareRuns(side(a1.dir), side(b.dir));
  t.is(arp(longer).verdict, 'regression', JSON.stringify(arp(longer)));
  t.true(arp(longer).medianChangeMs! > 500);
  t.log(`same lease twice: ${said(same)}; 1 s → 2 s lease: ${said(longer)}`);
  // And the CLI says it with its exit code, selecting by lease.
  const cli = await report(
    path,
    'compare',
    `subject=reference,lease=1000/500/200,last=1`,
    `subject=reference,lease=2000/1000/400`,
  );
  t.is(cli.exitCode, 1, cli.stdout + cli.stderr);
  t.regex(cli.stdout, /regression: failover power-off arp/);

  // The HTML views of a real run and of the comparison, opened in headless Chromium: the run's
  // page as the run wrote it (in its folder), and one rendered elsewhere (--out): links from both.
  for (const runPage of [join(a1.dir, 'report.html'), join(scratch, 'pages', 'run.html')]) {
    t.is((await report(path, 'html', a1.dir, '--out', runPage)).exitCode, 0);
    const seen = await openInChromium(runPage, `history-run-${basename(dirname(runPage))}.png`);
    t.deepEqual(seen.problems, [], 'console errors, page errors or requests beyond the file itself');
    t.deepEqual(seen.brokenLinks, [], 'every link resolves to a file of the run (or an anchor of the page)');
    t.true(seen.links.filter((l) => l.endsWith('.pcap')).length === 5, `a capture per trial: ${seen.links.join(' ')}`);
    t.true(seen.links.includes('#check-failover'), 'the failover check links to its evidence');
    t.is(seen.outagePlots, 1, 'one outage plot per fault');
    t.is(seen.timelines, 5, 'one packet timeline per trial');
    t.is(seen.openTrials, 0, 'trials start collapsed: the page answers at a glance');
    t.is(seen.emptySvgs, 0, 'every plot has a size on the page (trials opened)');
    t.is(seen.outageSpans, 5, 'every timeline shades its outage');
    t.true(seen.legend.includes('node01') && seen.legend.includes('node02'), seen.legend.join(', '));
    t.regex(seen.text, /Takeover: the fault → the new holder's first answer\. Outage: the old holder's last answer/);
    t.regex(
      seen.text,
      /Failover at a glance[\s\S]*power-off\s*ARP\s*5\s*\d+ ms\s*\d+ ms \/ \d+ ms \/ \d+ ms\s*\d+ ms\s*5\/5/,
    );
    t.regex(seen.text, /new holder's first answer: takeover \d+ ms, outage \d+ ms/);
  }
  const comparePage = join(scratch, 'compare.html');
  const html = await report(path, 'html', 'compare', a1.dir, b.dir, '--out', comparePage);
  t.regex(html.stdout, /\([1-9]\d* regressions?,/);
  const cmp = await openInChromium(comparePage, 'history-compare.png');
  t.deepEqual(cmp.problems, []);
  t.is(cmp.outagePlots, 1);
  t.regex(cmp.text, /power-off[\s\S]*regression/);
});

/** What a person sees: the page in headless Chromium (Debian's), a screenshot kept under reports/.test-artifacts/. */
async function openInChromium(file: string, screenshot: string) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (r.url() !== `file://${file}`) problems.push(`request: ${r.url()}`);
    });
    await page.goto(`file://${file}`);
    const artefacts = join(repo, 'reports', '.test-artifacts');
    mkdirSync(artefacts, { recursive: true });
    await page.screenshot({ path: join(artefacts, screenshot), fullPage: true }); // as a person first sees it
    const links = await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
    const ids = new Set(await page.locator('[id]').evaluateAll((els) => els.map((e) => e.id)));
    const brokenLinks = links.filter((l) =>
      l.startsWith('#') ? !ids.has(l.slice(1)) : /^[a-z]+:/i.test(l) || !existsSync(resolve(dirname(file), l)),
    );
    const openTrials = await page.locator('details.trial[open]').count();
    await page.locator('details.trial').evaluateAll((ds) => {
      for (const d of ds) d.setAttribute('open', '');
    });
    if (openTrials === 0 && (await page.locator('details.trial').count()))
      await page.screenshot({ path: join(artefacts, screenshot.replace(/\.png$/, '-opened.png')), fullPage: true });
    return {
      links,
      brokenLinks,
      openTrials,
      outageSpans: await page
        .locator('svg.l2l-timeline')
        .evaluateAll(
          (svgs) =>
            svgs.filter((s) => [...s.querySelectorAll('title')].some((x) => /outage \d+ ms/.test(x.textContent ?? '')))
              .length,
        ),
      problems,
      outagePlots: await page.locator('svg.l2l-outages').count(),
      timelines: await page.locator('details.trial svg.l2l-timeline').count(),
      emptySvgs: await page
        .locator('svg.l2l-outages, svg.l2l-timeline')
        .evaluateAll(
          (els) =>
            els.filter((e) => e.getBoundingClientRect().width < 100 || e.getBoundingClientRect().height < 50).length,
        ),
      legend: await page.locator('.l2l-timeline-swatch').allInnerTexts(),
      text: (await page.locator('body').textContent()) ?? '',
    };
  } finally {
    await browser.close();
  }
}

// Failover against the number of VIPs (issue 27 item 5), small here: two points, two client rate
// limits. The reference with l2lab's sizing is measured and judged at each point; with Cilium's
// default limit the lease calls of 10 VIPs (1 s leases) exceed it and the point is reported, not
// judged. The curve reaches results, the history and the report's plot (headless Chromium).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { chromium } from 'playwright-core';
import { runSuite } from '../../conformance/suite.ts';
import { loadLab } from '../../lab/labfile.ts';
import { History } from '../../reports/history.ts';
import { runHtml } from '../../reports/html.ts';
import { writeRun } from '../../reports/write.ts';
import { FAST_LEASE, fixture, labFile, ownLab } from '../helpers.ts';

const lab = loadLab(labFile('tcurve', 134, () => {}, 'labs/scale.yaml'));
ownLab(lab);

test.serial(
  'scale-curve: per limit and point, the takeover of every moved VIP, judged against what the limit explains',
  async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'l2l-curve-'));
    const { results } = await runSuite({
      lab,
      subject: 'reference',
      trials: 1,
      faults: [],
      only: ['scale-curve'],
      probeIntervalMs: 20,
      lease: FAST_LEASE,
      curve: { vips: [1, 10], limits: ['cilium-default', 'l2lab-sizing'] },
      progress: (m) => t.log(m),
      outDir: out,
    });
    const c = results.checks.find((x) => x.id === 'scale-curve')!;
    t.log(c.details.join('\n'));
    t.is(c.status, 'passed', c.reason);
    const f = c.figures;
    for (const n of [1, 10]) {
      t.true((f[`l2lab-sizing.${n}.max_ms`] as number) > 0, `l2lab-sizing at ${n}: measured`);
      t.true((f[`l2lab-sizing.${n}.max_ms`] as number) <= (f[`l2lab-sizing.${n}.allowed_ms`] as number));
      t.is(f[`l2lab-sizing.${n}.unanswered`], 0);
    }
    t.is((f['l2lab-sizing.10.moved'] as number) > 0, true);
    // 10 leases on 2 nodes at 1 s / 0.5 s / 0.2 s want ~41 calls a second a node: Cilium's default 10 cannot carry them
    t.regex(c.details.join('\n'), /cilium-default, 10 VIPs: .*(without a single responder|not judged).*limit 10\/s/);
    const curve = JSON.parse(f.curve as string) as { setting: string; points: { vips: number }[] }[];
    t.deepEqual(
      curve.map((s) => [s.setting, s.points.map((p) => p.vips)]),
      [
        ['cilium-default', [1, 10]],
        ['l2lab-sizing', [1, 10]],
      ],
    );

    // The history keeps every point.
    writeRun(out, results, { history: false });
    const db = History.open(join(mkdtempSync(join(tmpdir(), 'l2l-curve-history-')), 'history.sqlite'));
    try {
      t.is(db.add(out).added.length, 1);
      const [run] = db.list();
      const kept = db.figures(run!.id, 'scale-curve');
      t.is(kept['l2lab-sizing.10.max_ms'], f['l2lab-sizing.10.max_ms'] as number);
    } finally {
      db.close();
    }

    // The report plots it: one line per limit, readable in a browser.
    writeFileSync(join(out, 'report.html'), runHtml(out, results));
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`file://${join(out, 'report.html')}`);
      t.is(await page.locator('#check-scale-curve').count(), 1);
      const plot = page.locator('svg.l2l-curve');
      t.is(await plot.count(), 1);
      t.true((await plot.locator('path').count()) >= 2, 'a line per series');
      t.regex(
        (await page.locator('figure:has(svg.l2l-curve) figcaption').textContent()) ?? '',
        /l2lab-sizing .*cilium-default|cilium-default .*l2lab-sizing/s,
      );
      t.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);

test.serial(
  'scale-curve fails a lease client throttled below the limit it was given: growth the limit does not explain',
  async (t) => {
    const { results } = await runSuite({
      lab,
      subject: fixture('hidden-throttle'),
      trials: 1,
      faults: [],
      only: ['scale-curve'],
      probeIntervalMs: 20,
      lease: FAST_LEASE,
      curve: { vips: [1, 10], limits: ['l2lab-sizing'] },
      progress: () => {},
      outDir: mkdtempSync(join(tmpdir(), 'l2l-curve-')),
    });
    const c = results.checks.find((x) => x.id === 'scale-curve')!;
    t.log(c.details.join('\n'));
    t.is(c.status, 'failed');
    t.regex(
      c.reason!,
      /l2lab-sizing, 10 VIPs: (\d+ of \d+ never answered again|\d+ of 10 VIPs without a single responder)/,
    );
    t.notRegex(c.reason!, /, 1 VIPs:/, 'one lease fits in 10 calls a second');
  },
);

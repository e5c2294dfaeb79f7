// The conformance suite as a benchmark: the full suite's wall time with fast leases, and
// failover figures for the reference announcer (Cilium's default 15/5/2 s and fast leases) and
// keepalived, side by side, measured in the same run on the same lab.
import { performance } from 'node:perf_hooks';
import type { Vip } from '../conformance/addresses/index.ts';
import { buildBundles } from '../conformance/bundles.ts';
import type { RunResults, Trial } from '../conformance/model.ts';
import { Prober } from '../conformance/prober.ts';
import { runSuite } from '../conformance/suite.ts';
import { derivedLabFile as labFile } from '../lab/derive.ts';
import { loadLab } from '../lab/labfile.ts';
import { labDown } from '../lab/lifecycle.ts';
import { silentProgress } from '../lab/progress.ts';
import { getProvider } from '../lab/providers/index.ts';
import type { Lab } from '../lab/types.ts';
import { formatSpread } from '../results/stats.ts';
import { fullSuite } from './suite-time.ts';

export interface ConformanceBench {
  fullSuiteMs: number;
  fullSuite: RunResults['summary'];
  /** The switch-outage check's own share (its switch stays dark 4 × leaseDuration). */
  switchOutageMs: number;
  rows: string[][];
  /** The prober at 5 ms and at 20 ms, 5 s each, side by side. */
  prober: { intervalMs: number; expected: number; sent: number; answered: number; maxGapMs: number }[];
}

/** How well the prober keeps its interval on this machine: requests sent against the schedule, gaps, answers. */
async function proberHolds(lab: Lab, vip: Vip, intervalMs: number): Promise<ConformanceBench['prober'][number]> {
  const prober = new Prober(lab, getProvider(lab.provider), '/tmp/l2l-bench-prober', intervalMs);
  const durationMs = 5000;
  const { events } = await prober.probe(`prober-${intervalMs}ms`, durationMs, {
    ipv4: true,
    ipv6: true,
    vips: [vip],
    keep: false,
  });
  const sent = events.filter((e) => e.kind === 'arp-request').map((e) => e.t);
  const answered = events.filter((e) => e.kind === 'arp-reply').length;
  const gaps = sent.slice(1).map((t, i) => (t - sent[i]!) / 1000);
  return {
    intervalMs,
    expected: Math.floor(durationMs / intervalMs) + 1,
    sent: sent.length,
    answered,
    maxGapMs: Math.max(...gaps),
  };
}

export async function benchConformance(trials: number): Promise<ConformanceBench> {
  const lab = loadLab(labFile('lbench', 250));
  const p = getProvider(lab.provider);
  await labDown(lab.name, silentProgress, p);
  const fast = { durationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 200 };
  const log = (m: string) => process.stderr.write(`  ${m}\n`);
  await buildBundles();
  try {
    const t0 = performance.now();
    const full = await fullSuite(lab, '/tmp/l2l-bench-full');
    const fullSuiteMs = performance.now() - t0;
    log(`full suite: ${(fullSuiteMs / 1000).toFixed(0)} s`);
    // The reference announcer still runs: the prober at 5 ms and at 20 ms, one after the other.
    const prober = [];
    for (const ms of [5, 20]) prober.push(await proberHolds(lab, { labels: {}, ...full.results.vips[0]! }, ms));
    const rows = [
      [
        'subject',
        'lease / advert',
        'trials',
        'ARP outage median/p95/max ms',
        'NDP median/p95/max ms',
        'HTTP median/p95/max ms',
      ],
    ];
    const runs: [string, string, Parameters<typeof runSuite>[0]['lease']][] = [
      ['reference', '1 / 0.5 / 0.2 s', fast],
      ['reference', '15 / 5 / 2 s (Cilium default)', { durationMs: 15000, renewDeadlineMs: 5000, retryPeriodMs: 2000 }],
      ['keepalived', 'advert_int 1 s', undefined],
    ];
    for (const [subject, label, lease] of runs) {
      log(`${subject} ${label}: ${trials} power-off trials`);
      const { results } = await runSuite({
        lab,
        subject,
        trials,
        faults: ['power-off'],
        only: ['failover'],
        probeIntervalMs: 20,
        lease,
        progress: () => {},
        outDir: `/tmp/l2l-bench-${subject}-${lease?.durationMs ?? 'k'}`,
      });
      const ts = results.checks.flatMap((c) => c.trials);
      const f = (pick: (t: Trial) => number | undefined) => formatSpread(ts.map(pick));
      rows.push([
        subject,
        label,
        String(ts.length),
        f((t) => t.arp?.outageMs),
        f((t) => t.ndp?.outageMs),
        f((t) => t.http?.outageMs),
      ]);
    }
    const switchOutageMs = full.results.checks.find((c) => c.id === 'switch-outage')?.durationMs ?? 0;
    return { fullSuiteMs, fullSuite: full.results.summary, switchOutageMs, rows, prober };
  } finally {
    await labDown(lab.name, silentProgress, p);
  }
}

export function printConformance(b: ConformanceBench): void {
  const s = b.fullSuite;
  console.log(`\nconformance (default lab, netns)`);
  console.log(
    `  full suite, reference announcer, leases 1 / 0.5 / 0.2 s, 3 trials per fault: ${(b.fullSuiteMs / 1000).toFixed(0)} s ` +
      `(${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped); ratio to the 2-minute budget = ` +
      `${(b.fullSuiteMs / 120000).toFixed(2)}`,
  );
  const rest = b.fullSuiteMs - b.switchOutageMs;
  console.log(
    `  of which switch-outage (the switch dark 5 s): ${(b.switchOutageMs / 1000).toFixed(0)} s; ` +
      `the rest: ${(rest / 1000).toFixed(0)} s, ratio to the 60 s goal = ${(rest / 60000).toFixed(2)}`,
  );
  const w = b.rows[0]!.map((_, c) => Math.max(...b.rows.map((r) => r[c]!.length)));
  for (const r of b.rows) console.log(`  ${r.map((x, c) => x.padEnd(w[c]!)).join('  ')}`);
  for (const p of b.prober)
    console.log(
      `  prober every ${p.intervalMs} ms for 5 s: ${p.sent} of ${p.expected} requests sent (ratio ${(p.sent / p.expected).toFixed(2)}), ` +
        `${p.answered} answered (${(p.answered / p.sent).toFixed(2)}), longest gap ${p.maxGapMs.toFixed(1)} ms ` +
        `(${(p.maxGapMs / p.intervalMs).toFixed(1)} intervals)`,
    );
}

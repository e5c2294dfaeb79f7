// The default suite's wall time and each check's share: fast leases (1 / 0.5 / 0.2 s), 3 trials of
// every fault, the reference announcer. Issue 24's budget for it is 2 minutes.
import { performance } from 'node:perf_hooks';
import { buildBundles } from '../conformance/bundles.ts';
import { runSuite } from '../conformance/suite.ts';
import { derivedLabFile as labFile } from '../lab/derive.ts';
import { loadLab } from '../lab/labfile.ts';
import { labDown } from '../lab/lifecycle.ts';
import { silentProgress } from '../lab/progress.ts';
import { getProvider } from '../lab/providers/index.ts';
import type { Lab } from '../lab/types.ts';

export interface SuiteTime {
  totalMs: number;
  checks: { id: string; ms: number; status: string }[];
}

/** The default suite on a lab: the reference announcer, fast leases, 3 trials of every fault, every check. */
export const fullSuite = (lab: Lab, outDir: string) =>
  runSuite({
    lab,
    subject: 'reference',
    trials: 3,
    faults: ['power-off', 'link-down', 'network-off', 'process-stop', 'pause', 'graceful-stop'],
    probeIntervalMs: 20,
    lease: { durationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 200 },
    progress: () => {},
    outDir,
  });

export async function benchSuiteTime(): Promise<SuiteTime> {
  const lab = loadLab(labFile('lsuite', 251));
  const p = getProvider(lab.provider);
  await labDown(lab.name, silentProgress, p);
  await buildBundles();
  try {
    const t0 = performance.now();
    const { results } = await fullSuite(lab, '/tmp/l2l-bench-suite');
    return {
      totalMs: performance.now() - t0,
      checks: results.checks.map((c) => ({ id: c.id, ms: c.durationMs, status: c.status })),
    };
  } finally {
    await labDown(lab.name, silentProgress, p);
  }
}

export function printSuiteTime(s: SuiteTime): void {
  console.log('\n## The default suite, check by check (reference, leases 1 / 0.5 / 0.2 s, 3 trials per fault)\n');
  for (const c of s.checks) console.log(`  ${c.id.padEnd(22)} ${(c.ms / 1000).toFixed(1).padStart(6)} s  ${c.status}`);
  console.log(
    `  full suite: ${(s.totalMs / 1000).toFixed(0)} s (budget 120 s: ratio ${(s.totalMs / 120_000).toFixed(2)})`,
  );
}

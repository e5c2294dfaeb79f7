// The run history's speed: importing 1,000 run folders (< 10 s) and comparing two 30-trial runs
// (< 2 s), each beside a run 10 × smaller so the growth ratio shows what the machine's noise hides.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResults, Trial } from '../conformance/model.ts';
import { compareRuns } from '../reports/compare-runs.ts';
import { History } from '../reports/history.ts';

export interface HistoryBench {
  importMs: { runs: number; ms: number }[];
  compareMs: { trials: number; ms: number }[];
}

const faults = ['power-off', 'link-down', 'network-off', 'graceful-stop'];

/** A run as the suite writes it: `trials` failover trials per fault, each family measured, with the usual detail. */
function results(i: number, trials: number): RunResults {
  const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  const family = (base: number) => ({
    oldNode: 'node01',
    newNode: 'node02',
    oldMac: '02:4c:5b:00:00:02',
    newMac: '02:4c:5b:00:00:03',
    takeoverMs: base + 40,
    outageMs: base + ((i * 7919 + base) % 97),
    announceMs: base + 45,
    announceTimesMs: [base + 45, base + 145, base + 245],
    splitBrainWindows: 0,
  });
  const ts: Trial[] = faults.flatMap((fault, f) =>
    Array.from({ length: trials }, (_, k) => ({
      fault,
      trial: k + 1,
      faultAt: at,
      budgetMs: 4000,
      arp: family(1000 + f * 100 + k),
      ndp: family(1010 + f * 100 + k),
      http: { outageMs: 1100 + k, before: 'node01', after: 'node02' },
      excludedAnswered: false,
      holderAfterHeal: 'node02',
      passed: true,
      problems: [],
      capture: `${String(k).padStart(3, '0')}-${fault}.pcap`,
    })),
  );
  const check = (id: string, t: Trial[] = []) => ({
    id,
    title: id,
    description: `what ${id} checks, in a sentence or two as the suite writes it`,
    status: 'passed' as const,
    details: ['node02 answered 12 of 12 probes', 'every answer from an eligible node'],
    figures: { 'arp.outage_median_ms': 1040, 'ndp.outage_median_ms': 1050 },
    trials: t,
    durationMs: 1234,
  });
  return {
    schema: 'l2lab.conformance/v1',
    startedAt: at,
    finishedAt: at,
    subject: {
      name: i % 2 ? 'keepalived:fast' : 'reference',
      version: `1.${i % 5}`,
      description: 'bench',
      features: ['ipv4', 'ipv6', 'http'],
    },
    lab: { name: 'demo', provider: 'netns', file: 'lab.yaml', nodes: [] },
    environment: { kernel: '6.1', node: 'v20', l2labCommit: 'abc1234' },
    probeIntervalMs: 20,
    vips: [{ service: 'gw', ipv4: '198.18.4.100' }],
    checks: ['pool-address', 'single-responder', 'http', 'gratuitous', 'no-split-brain']
      .map((id) => check(id))
      .concat(check('failover', ts)),
    summary: { passed: 6, failed: 0, skipped: 0, info: 0, errors: 0 },
  };
}

function timeImport(runs: number): number {
  const root = mkdtempSync(join(tmpdir(), 'l2l-bench-history-'));
  try {
    for (let i = 0; i < runs; i++) {
      const dir = join(root, 'reports', `${String(i).padStart(5, '0')}-run`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'results.json'), JSON.stringify(results(i, 10), null, 2));
    }
    const h = History.open(join(root, 'history.sqlite'));
    const t0 = performance.now();
    const out = h.importDirs([join(root, 'reports')]);
    const ms = performance.now() - t0;
    h.close();
    if (out.added.length !== runs) throw new Error(`imported ${out.added.length} of ${runs} runs`);
    return ms;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function timeCompare(trials: number): number {
  const root = mkdtempSync(join(tmpdir(), 'l2l-bench-compare-'));
  try {
    const h = History.open(join(root, 'history.sqlite'));
    const dirs = [0, 1].map((i) => {
      const dir = join(root, `run-${i}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'results.json'), JSON.stringify(results(i, trials)));
      return dir;
    });
    h.importDirs(dirs);
    const t0 = performance.now();
    // What `report compare A B` does after opening the history: two lookups, then the comparison.
    const [a, b] = dirs.map((d) => h.side(d, [h.find(d)!]));
    const c = compareRuns(a!, b!);
    const ms = performance.now() - t0;
    h.close();
    if (c.figures.length !== faults.length * 3) throw new Error(`compared ${c.figures.length} figures`);
    return ms;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function benchHistory(runs: number): HistoryBench {
  const median = (f: () => number, n: number) => {
    const xs = Array.from({ length: n }, f).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)]!;
  };
  timeCompare(30); // warm up (the statistics library loads on first use)
  return {
    importMs: [100, 1000].map((n) => ({ runs: n, ms: median(() => timeImport(n), Math.min(runs, 3)) })),
    compareMs: [30, 300].map((n) => ({ trials: n, ms: median(() => timeCompare(n), runs) })),
  };
}

export function printHistory(b: HistoryBench): void {
  const [i1, i2] = b.importMs;
  const [c1, c2] = b.compareMs;
  console.log('\nrun history (reports/history.ts), median of the runs:');
  for (const r of b.importMs) console.log(`  import ${r.runs} run folders: ${r.ms.toFixed(0)} ms`);
  console.log(
    `  ratio 1000 / 100 runs = ${(i2!.ms / i1!.ms).toFixed(1)} (linear ≈ 10); 1000 runs / 10 s budget = ${(i2!.ms / 10_000).toFixed(2)}`,
  );
  for (const r of b.compareMs) console.log(`  compare two runs of ${r.trials} trials per fault: ${r.ms.toFixed(1)} ms`);
  console.log(
    `  ratio 300 / 30 trials = ${(c2!.ms / c1!.ms).toFixed(1)} (linear ≈ 10); 30 trials / 2 s budget = ${(c1!.ms / 2000).toFixed(3)}`,
  );
}

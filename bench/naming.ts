// Naming virtual-MAC answers (VRRP subjects): the prober names its whole capture again whenever
// new events arrive, so the cost must grow with the capture's length, not its square.

import type { ProbeEvent } from '../conformance/events.ts';
import { attributeVirtualMacs } from '../conformance/vrrp.ts';

export interface NamingBench {
  rows: { events: number; ms: number }[];
  /** time(4n) / time(n): about 4 if linear (n log n: a little more), 16 if quadratic. */
  ratio: number;
}

const VMAC = '00:00:5e:00:01:01';
const vip = '198.18.4.100';

/** A probe every 20 ms answered with the virtual MAC, an advertisement every 100 ms, a takeover halfway. */
function capture(rounds: number): ProbeEvent[] {
  const ev: ProbeEvent[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = i * 20_000;
    ev.push({ t, kind: 'arp-request', vip });
    ev.push({ t: t + 500, kind: 'arp-reply', vip, mac: VMAC });
    if (i % 5 === 0) {
      const src = i < rounds / 2 ? '198.18.4.11' : '198.18.4.12';
      ev.push({ t: t + 700, kind: 'vrrp', vip, mac: VMAC, src, priority: 100, intervalMs: 100 });
    }
  }
  return ev;
}

export function benchNaming(runs: number): NamingBench {
  const sources = new Map([
    ['198.18.4.11', '02:00:00:00:00:11'],
    ['198.18.4.12', '02:00:00:00:00:12'],
  ]);
  const time = (events: ProbeEvent[]) => {
    const ms: number[] = [];
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      attributeVirtualMacs(events, sources);
      ms.push(performance.now() - t0);
    }
    return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
  };
  const small = capture(2_000);
  const large = capture(8_000);
  time(small); // warm up both sizes: the ratio is then the algorithm's, not the JIT's
  time(large);
  const rows = [
    { events: small.length, ms: time(small) },
    { events: large.length, ms: time(large) },
  ];
  return { rows, ratio: rows[1]!.ms / rows[0]!.ms };
}

export function printNaming(b: NamingBench): void {
  console.log('\nnaming virtual-MAC answers (attributeVirtualMacs), median of the runs:');
  for (const r of b.rows) console.log(`  ${r.events} events: ${r.ms.toFixed(1)} ms`);
  console.log(`  ratio for 4 × the events = ${b.ratio.toFixed(1)} (linear ≈ 4, quadratic ≈ 16)`);
}

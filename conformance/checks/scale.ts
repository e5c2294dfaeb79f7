import type { Fault } from '../../lab/types.ts';
import { failover } from '../analyze.ts';
import { defineCheck } from '../check.ts';
import { holders } from '../client.ts';
import { poolSize } from '../pool.ts';
import { NOT_JUDGED } from '../trial.ts';

export default defineCheck({
  id: 'scale',
  title: 'Scale: 50 VIPs',
  description:
    'With 50 VIPs, power off the node that holds the most: every VIP is answered again within 1.5× the single-VIP budget; the ' +
    'distribution of leases over nodes is reported.',
  features: ['lease-store'],
  injects: ['power-off'],
  // 49 services beside the Gateway, where the pool has room (the subject's playbook reads extra_services).
  setup: { variable: 'extra_services', off: 0, fits: (lab) => poolSize(lab) >= 50, value: () => 49 },
  async run(ctx) {
    if (ctx.vips.length < 50)
      return {
        status: 'skipped',
        reason:
          `needs 50 VIPs; this run announces ${ctx.vips.length} (pool ${ctx.lab.pool.name} has ${poolSize(ctx.lab)} IPv4 ` +
          `addresses; use a lab whose pool has ≥ 50, e.g. labs/scale.yaml)`,
      };
    const vips = ctx.vips.slice(0, 50).filter((v) => v.ipv4);
    const v4 = vips.map((v) => v.ipv4!);
    // Who holds what, once every VIP has exactly one responder (else as the last look found it).
    const seen = await holders(ctx, vips, 18_000);
    const holderOf = new Map(
      [...seen.by].map(([ip, macs]) => [ip, macs.map((m) => ctx.nodeOfMac(m)!).join('+')] as const),
    );
    const spread: Record<string, number> = {};
    for (const h of holderOf.values()) spread[h || 'nobody'] = (spread[h || 'nobody'] ?? 0) + 1;
    const [busiest] = Object.entries(spread).sort((a, b) => b[1] - a[1])[0]!;
    const budget = Math.round(ctx.subject.budgetMs('power-off') * 1.5);
    const off: Fault = { kind: 'power-off', node: busiest };
    let probe;
    try {
      probe = await ctx.probe('scale-power-off', budget + 1500, { vips, during: () => ctx.inject(off) });
    } finally {
      await ctx.faults.undoIfActive(off);
    }
    const { events, faultAt } = probe;
    const late: string[] = [];
    let worst = 0;
    for (const ip of v4) {
      if (holderOf.get(ip) !== busiest) continue;
      const { firstNew: first } = failover(events, ip, 'arp', faultAt);
      const ms = first !== undefined ? (first - faultAt) / 1000 : Infinity;
      worst = Math.max(worst, ms);
      // never answered fails everywhere; late fails on a real CPU (an emulated lab reports it)
      if (first === undefined || (ms > budget && !ctx.emulated))
        late.push(`${ip} ${first !== undefined ? `after ${ms.toFixed(0)} ms` : 'never'}`);
    }
    const moved = [...holderOf.values()].filter((h) => h === busiest).length;
    const figures = {
      vips: v4.length,
      moved,
      worst_ms: Number.isFinite(worst) ? Math.round(worst) : null,
      budget_ms: budget,
      ...Object.fromEntries(Object.entries(spread).map(([k, v]) => [`leases.${k}`, v])),
    };
    const details = [
      `leases before: ${Object.entries(spread)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      `powered off ${busiest} (${moved} VIPs): slowest answered again after ${Number.isFinite(worst) ? worst.toFixed(0) : '∞'} ms ` +
        `(budget 1.5 × single = ${budget} ms)${worst > budget && Number.isFinite(worst) && ctx.emulated ? ` ${NOT_JUDGED}` : ''}`,
    ];
    return late.length
      ? { status: 'failed', reason: `${late.length} VIPs late: ${late.slice(0, 5).join(', ')}`, details, figures }
      : { status: 'passed', details, figures };
  },
});

// Failover against the number of VIPs (Cilium #26586, #30841: with many services, client-side
// throttling of lease calls loses leases; Cilium's docs size k8s-client-qps as services ÷
// renewDeadline). One power-off of the node holding the most, at 1, 10, 50, 100 and 200 VIPs, the
// subject installed again for each; lease-based subjects once per client rate limit. Each point
// is judged against what the rate limit explains; a limit below the steady demand is reported.
import type { Fault } from '../../lab/types.ts';
import { failover } from '../analyze.ts';
import { defineCheck } from '../check.ts';
import { holders } from '../client.ts';
import { poolAddresses4, poolSize } from '../pool.ts';

export const CURVE_POINTS = [1, 10, 50, 100, 200];

/** A client rate limit the curve runs with (undefined: the subject as installed, none set). */
export interface Setting {
  name: string;
  describe: string;
  limit?: (vips: number, renewDeadlineMs: number, retryPeriodMs: number) => { qps: number; burst: number };
}

export const SETTINGS: Setting[] = [
  {
    name: 'cilium-default',
    describe: "Cilium's default client limit, qps 10, burst 20 (k8sClientRateLimit, the chart's values.yaml)",
    limit: () => ({ qps: 10, burst: 20 }),
  },
  {
    name: 'docs-sizing',
    describe:
      "the docs' sizing, qps = services ÷ leaseRenewDeadline (Cilium's l2announcements docs, " +
      '"Sizing client rate limit"), burst twice that',
    limit: (n, renewMs) => {
      const qps = Math.max(1, Math.ceil(n / (renewMs / 1000)));
      return { qps, burst: 2 * qps };
    },
  },
  {
    name: 'l2lab-sizing',
    describe:
      'the sizing l2lab gives the Cilium it installs (playbooks/cluster/values.ts): twice the renewals a second, services ÷ ' +
      'retryPeriod, at least 10; burst twice that',
    limit: (n, _renewMs, retryMs) => {
      const qps = Math.max(10, 2 * Math.ceil(n / (retryMs / 1000)));
      return { qps, burst: 2 * qps };
    },
  },
];

/** One point of a curve: what the client saw of one power-off at n VIPs. */
export interface Point {
  vips: number;
  moved?: number;
  medianMs?: number | null;
  p95Ms?: number | null;
  maxMs?: number | null;
  unanswered?: number;
  allowedMs?: number;
  /** The steady demand on a node (lease calls a second) and the limit, where one is set. */
  demand?: number;
  qps?: number;
  note?: string;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : null;
};

/**
 * What a client rate limit explains of a takeover of `moved` leases (client-go's election: a holder
 * writes each lease every retryPeriod, a candidate reads each every retryPeriod × [1, 2.2), 1.6 on
 * average): the steady demand of a node holding its share, and the time the survivor's spare
 * tokens take to read and write every moved lease beyond its burst.
 */
export function rateModel(
  n: number,
  moved: number,
  eligible: number,
  retryMs: number,
  limit: { qps: number; burst: number },
): { demand: number; extraMs: number | null } {
  const r = retryMs / 1000;
  const held = n / Math.max(1, eligible);
  const demand = held / r + (n - held) / (1.6 * r);
  const spare = limit.qps - demand;
  if (spare <= 0) return { demand, extraMs: null };
  return { demand, extraMs: (Math.max(0, 2 * moved - limit.burst) / spare) * 1000 };
}

export default defineCheck({
  id: 'scale-curve',
  title: 'Failover against the number of VIPs',
  description:
    'Only with --only scale-curve (minutes). At 1, 10, 50, 100 and 200 VIPs (as many as the pool holds), the subject installed again ' +
    'with that many (services from the pool, or the pool’s first addresses), then the node holding the most powered off: per VIP the ' +
    'time to the first answer from another node (median, p95, max). Lease-based subjects that take a client rate limit run once with ' +
    "Cilium's default (qps 10, burst 20), the docs' sizing (services ÷ renewDeadline) and l2lab's (2 × services ÷ retryPeriod). " +
    'A point fails when its slowest VIP ' +
    'is later than 1.5 × the single-VIP budget plus what the rate limit explains; a limit below the steady demand of the lease calls ' +
    'is reported (leases are lost without a fault), not judged.',
  features: ['ipv4', 'many-vips'],
  injects: ['power-off'],
  optIn: true,
  async run(ctx, opts) {
    const lab = ctx.lab;
    if (!ctx.reinstall)
      return {
        status: 'skipped',
        reason: 'the subject was already running: l2lab cannot install it again with more VIPs',
      };
    const room = poolSize(lab);
    const wanted = opts.curve?.vips ?? CURVE_POINTS;
    const points = wanted.filter((n) => n <= room);
    if (points.length < Math.min(3, wanted.length))
      return {
        status: 'skipped',
        reason: `pool ${lab.pool.name} has room for ${room} IPv4 VIPs, too few for ${wanted.join(', ')} (labs/scale.yaml has 200)`,
      };
    if (points.length < wanted.length)
      ctx.progress(
        `scale-curve: the pool has room for ${room} VIPs: ${wanted.filter((n) => n > room).join(', ')} left out`,
      );
    const addresses = poolAddresses4(lab, points.at(-1)!);
    const settings: Setting[] =
      ctx.subject.has('lease-store') && ctx.subject.has('client-rate-limit')
        ? SETTINGS.filter((s) => !opts.curve?.limits || opts.curve.limits.includes(s.name))
        : [{ name: 'as-installed', describe: `${ctx.subject.name} as installed` }];
    const single = ctx.subject.budgetMs('power-off');
    const retryMs = ctx.subject.lease?.retryPeriodMs;
    const renewMs = ctx.subject.lease?.renewDeadlineMs ?? 1000;
    const details: string[] = [];
    const problems: string[] = [];
    const figures: Record<string, number | string | null> = {};
    const curves: { setting: string; describe: string; points: Point[] }[] = [];
    for (const s of settings) {
      const curve: Point[] = [];
      for (const n of points) {
        const limit = s.limit?.(n, renewMs, retryMs ?? 2000);
        const intervalMs = Math.max(ctx.probeIntervalMs, Math.ceil(n / 2));
        ctx.progress(
          `scale-curve: ${s.name}, ${n} VIPs: installing${limit ? ` (qps ${limit.qps}, burst ${limit.burst})` : ''}`,
        );
        const found = (
          await ctx.reinstall({ curve: { services: n - 1, vips4: addresses.slice(1, n), ...limit } })
        ).filter((v) => !v.domain && v.ipv4);
        // A subject without IPAM announces the pool's first addresses it was given.
        const have = new Set(found.map((v) => v.ipv4));
        const extra = addresses
          .slice(0, n)
          .filter((a) => !have.has(a))
          .map((a) => ({ service: `scale-curve/${a}`, labels: {}, ipv4: a }));
        const vips = [...found, ...extra].slice(0, n).map((v) => ({ ...v, ipv6: undefined }));
        const p: Point = { vips: n };
        curve.push(p);
        const key = `${s.name}.${n}`;
        // The steady demand does not depend on how many leases move: known before the fault.
        const demand = limit && retryMs ? rateModel(n, 0, ctx.eligible.length, retryMs, limit).demand : undefined;
        if (limit && demand !== undefined) {
          p.demand = Math.round(demand * 10) / 10;
          p.qps = limit.qps;
        }
        const seen = await holders(ctx, vips, Math.max(20_000, 3 * single), intervalMs);
        if (!seen.ok) {
          const bad = [...seen.by.entries()].filter(([, m]) => m.length !== 1).length;
          p.note = `${bad} of ${n} VIPs without a single responder before the fault`;
          details.push(
            `${s.name}, ${n} VIPs: ${p.note}${p.demand !== undefined ? ` (lease calls ${p.demand}/s a node, limit ${p.qps}/s)` : ''}`,
          );
          figures[`${key}.unsettled`] = bad;
          const saturated = p.demand !== undefined && p.qps !== undefined && p.demand >= p.qps;
          if (!saturated) problems.push(`${s.name}, ${n} VIPs: ${p.note}`);
          continue;
        }
        const count = new Map<string, number>();
        for (const [, [m]] of seen.by) count.set(m!, (count.get(m!) ?? 0) + 1);
        const [busiestMac, moved] = [...count.entries()].sort((a, b) => b[1] - a[1])[0]!;
        const busiest = ctx.nodeOfMac(busiestMac)!.split('/')[0]!;
        const movedVips = vips.filter((v) => seen.by.get(v.ipv4!)![0] === busiestMac);
        const model = limit && retryMs ? rateModel(n, moved, ctx.eligible.length, retryMs, limit) : undefined;
        const saturated = model?.extraMs === null;
        const allowed = Math.round(1.5 * single + (model?.extraMs ?? 0));
        // A limit below the demand bounds nothing: watched as long as three single-VIP budgets.
        const windowMs = Math.min(120_000, (saturated ? Math.max(10_000, 3 * single) : allowed) + 5000);
        const off: Fault = { kind: 'power-off', node: busiest };
        let w;
        try {
          w = await ctx.probe(`scale-curve-${s.name}-${n}`, windowMs, {
            vips: movedVips,
            during: () => ctx.inject(off),
            settle: { announce: [], tailMs: 300 },
            intervalMs,
          });
        } finally {
          await ctx.faults.undoIfActive(off);
        }
        const took: number[] = [];
        let unanswered = 0;
        for (const v of movedVips) {
          const { firstNew } = failover(w.events, v.ipv4!, 'arp', w.faultAt);
          if (firstNew !== undefined) took.push((firstNew - w.faultAt) / 1000);
          else unanswered++;
        }
        Object.assign(p, {
          moved,
          medianMs: round(quantile(took, 0.5)),
          p95Ms: round(quantile(took, 0.95)),
          maxMs: round(took.length ? Math.max(...took) : null),
          unanswered,
          ...(saturated ? {} : { allowedMs: allowed }),
        });
        for (const [f, v] of Object.entries({
          moved,
          median_ms: p.medianMs,
          p95_ms: p.p95Ms,
          max_ms: p.maxMs,
          unanswered,
        }))
          figures[`${key}.${f}`] = v ?? null;
        figures[`${key}.allowed_ms`] = saturated ? null : allowed;
        const limitNote = p.demand !== undefined ? `; lease calls ${p.demand}/s a node, limit ${p.qps}/s` : '';
        details.push(
          `${s.name}, ${n} VIPs: ${busiest} powered off (${moved} VIPs): median ${p.medianMs ?? '-'} ms, p95 ${p.p95Ms ?? '-'} ms, ` +
            `max ${p.maxMs ?? '-'} ms, ${unanswered} never answered in ${windowMs} ms; ${
              saturated ? 'the limit is below the steady demand: not judged' : `explained up to ${allowed} ms`
            }${limitNote}`,
        );
        if (saturated) continue;
        if (unanswered)
          problems.push(`${s.name}, ${n} VIPs: ${unanswered} of ${moved} never answered again within ${windowMs} ms`);
        else if ((p.maxMs ?? 0) > allowed && !ctx.emulated)
          problems.push(
            `${s.name}, ${n} VIPs: the slowest VIP answered after ${p.maxMs} ms, beyond the ${allowed} ms that 1.5 × the single-VIP ` +
              `budget${model ? ' and the rate limit' : ''} explain`,
          );
      }
      curves.push({ setting: s.name, describe: s.describe, points: curve });
    }
    // The subject as the run installed it again, for the checks after this one.
    await ctx.reinstall({});
    await ctx.settled(single).catch(() => false);
    figures.curve = JSON.stringify(curves);
    return {
      ...curveVerdict(
        curves.flatMap((c) => c.points),
        problems,
        details,
      ),
      details,
      figures,
    };
  },
});

/**
 * The check's verdict from its points: failed for a problem, or when no point was measured; info
 * when every measured point's limit was below the steady demand (reported, not judged: nothing
 * passed); else passed.
 */
export function curveVerdict(
  points: Point[],
  problems: string[],
  details: string[],
): { status: 'passed' | 'failed' | 'info'; reason?: string } {
  if (problems.length) return { status: 'failed', reason: problems.join('; ') };
  const measured = points.filter((p) => p.maxMs !== undefined);
  if (!measured.length) return { status: 'failed', reason: `no point measured: ${details.join('; ')}` };
  return measured.some((p) => p.allowedMs !== undefined) ? { status: 'passed' } : { status: 'info' };
}

const round = (x: number | null) => (x === null ? null : Math.round(x));

import { answers, type Family, responders, splitBrain } from '../analyze.ts';
import { defineCheck } from '../check.ts';

/** Long enough for every lease to expire while the switch is dark (4 leases, at least 3 s); a minute for subjects without one. */
export const switchOutageMs = (lease?: { durationMs: number }) =>
  lease ? Math.max(3000, 4 * lease.durationMs) : 60_000;

/** After the first answer, how long the one answering node must keep answering: a lease lost and won again shows. */
export const steadyMs = (lease?: { durationMs: number }) => Math.max(1000, lease?.durationMs ?? 0);

export default defineCheck({
  id: 'switch-outage',
  title: 'Answers again after a switch outage',
  description:
    'The lab switch goes dark (every port without carrier, as a LAN bounce) for long enough that every lease expires — 4 × ' +
    'leaseDuration, at least 3 s; 60 s without a lease; --switch-down-s — then comes back: within the budget exactly one eligible node ' +
    'answers, and is answering steadily (one node, every request of the last half second) a lease duration (at least 1 s) after ' +
    'its first answer, when the window ends (Cilium #48626).',
  features: [],
  injects: ['switch-down'],
  async run(ctx, opts) {
    const outageMs = opts.switchDownMs ?? switchOutageMs(ctx.subject.lease);
    const budget = ctx.subject.budgetMs('switch-down');
    const fault = { kind: 'switch-down', node: 'switch' };
    await ctx.stableHolder().catch(() => undefined); // who answered before is not judged here
    ctx.progress(
      `switch-outage: the switch goes dark for ${outageMs} ms, then someone must answer within ${budget} ms`,
    );
    const steady = steadyMs(ctx.subject.lease);
    const watchMs = budget + steady;
    const { events, faultAt } = await ctx.probe('switch-outage', watchMs, {
      duringMs: outageMs,
      // The window ends once every address is answered again and then watched for `steady`.
      settle: { announce: [], tailMs: steady, anyone: true },
      // The window is counted from the moment the switch is back.
      during: async () => {
        await ctx.inject(fault);
        await new Promise((r) => setTimeout(r, outageMs));
        await ctx.undo(fault);
        return Date.now();
      },
    });
    const problems: string[] = [];
    const details: string[] = [];
    const figures: Record<string, number | null> = { outage_ms: outageMs, budget_ms: budget };
    // Steady: the window's last half second (the tail after the first answers, or the limit).
    const tailFrom = (events.at(-1)?.t ?? faultAt) - 500_000;
    for (const [family, ip] of [
      ['arp', ctx.main.ipv4],
      ['ndp', ctx.main.ipv6],
    ] as [Family, string | undefined][]) {
      if (!ip || !ctx.subject.has(family === 'arp' ? 'ipv4' : 'ipv6')) continue;
      const label = family.toUpperCase();
      const first = answers(events, ip, family, faultAt)[0];
      const backMs = first ? (first.t - faultAt) / 1000 : undefined;
      figures[`${family}.back_ms`] = backMs === undefined ? null : Math.round(backMs);
      if (backMs === undefined)
        problems.push(`${label}: nobody answered for ${ip} within ${watchMs} ms of the switch coming back`);
      else if (backMs > budget)
        ctx.late(problems, details, `${label}: answered again after ${backMs.toFixed(0)} ms, budget ${budget} ms`);
      const split = splitBrain(
        events.filter((e) => e.t >= faultAt),
        ip,
        family,
      ).length;
      if (split) problems.push(`${label}: ${split} requests answered by two MACs after the switch came back`);
      const requests = events.filter(
        (e) => e.vip === ip && e.t >= tailFrom && e.kind === (family === 'arp' ? 'arp-request' : 'ns'),
      ).length;
      const tail = answers(events, ip, family, tailFrom);
      const who = responders(events, ip, family, tailFrom);
      if (backMs !== undefined && (who.length !== 1 || tail.length < requests - 1))
        problems.push(
          `${label}: not answering steadily at the end (${tail.length} of ${requests} requests, by ` +
            `${who.map((m) => ctx.nodeOfMac(m)).join(' and ') || 'nobody'})`,
        );
      details.push(
        `${label}: ${backMs === undefined ? 'no answer' : `answered ${backMs.toFixed(0)} ms after the switch came back`}, then by ` +
          `${who.map((m) => ctx.nodeOfMac(m)).join(', ') || 'nobody'}`,
      );
    }
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});

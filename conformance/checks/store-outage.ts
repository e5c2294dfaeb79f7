import type { Fault } from '../../lab/types.ts';
import { answers } from '../analyze.ts';
import { allTrials, defineCheck } from '../check.ts';
import type { Context } from '../context.ts';

/** How long the lease store stays down: every lease long expired (4 × leaseDuration, at least 3 s); --store-down-s. */
export const storeOutageMs = (lease?: { durationMs: number }) => Math.max(3000, 4 * (lease?.durationMs ?? 15_000));

/**
 * The control plane (lease store) powered off for minutes, then back, in one capture of every VIP:
 * how long after the loss each VIP stops being answered (holders cannot renew: Cilium stops at
 * renewDeadline), the moment the last one falls silent, and how long after the store is back
 * until every VIP is answered again (Cilium #40735). Reported, not judged.
 */
async function storeLoss(
  ctx: Context,
  cp: string,
  downMs: number | undefined,
  details: string[],
  figures: Record<string, number | string | null>,
): Promise<void> {
  const outageMs = downMs ?? storeOutageMs(ctx.subject.lease);
  // Leases re-acquired after the store returns: the window ends a second after every VIP is answered again.
  const watchMs = ctx.subject.budgetMs('power-off') + 2000;
  const off: Fault = { kind: 'power-off', node: cp };
  ctx.progress(`store-outage: the lease store (${cp}) goes down for ${outageMs} ms, then comes back`);
  // Durations on this machine's clock (the same on every clock): the window's moment is the end of
  // the power-on; the store came back during it (the node boots, etcd starts, then it is reachable).
  let lostFor = 0; // from the power cut to the end of the power-on
  let powerOnMs = 0;
  let back: number;
  let events: Awaited<ReturnType<Context['probe']>>['events'];
  try {
    ({ events, faultAt: back } = await ctx.probe('store-down', watchMs, {
      vips: ctx.vips,
      duringMs: outageMs,
      settle: { announce: [], tailMs: 1000, anyone: true },
      during: async () => {
        const t0 = Date.now();
        await ctx.inject(off);
        await new Promise((r) => setTimeout(r, outageMs));
        const tu = Date.now();
        await ctx.undo(off);
        powerOnMs = Date.now() - tu;
        lostFor = Date.now() - t0;
        return Date.now();
      },
    }));
  } finally {
    await ctx.faults.undoIfActive(off);
  }
  const lost = back - lostFor * 1000;
  const powerOn = back - powerOnMs * 1000; // the store returns after this, before `back`
  const stops: number[] = [];
  const resumes: number[] = [];
  let kept = 0;
  let silent = 0;
  for (const { ip, family } of ctx.vips.flatMap((v) => ctx.claimedOf(v))) {
    const last = answers(events, ip, family, lost, powerOn).at(-1);
    // Still answered in the last second before the power-on: it kept answering without a store.
    if (last && last.t > powerOn - 1_000_000) kept++;
    else stops.push(last ? (last.t - lost) / 1000 : 0);
    const first = answers(events, ip, family, powerOn)[0];
    if (first) resumes.push((first.t - powerOn) / 1000);
    else silent++;
  }
  const n = stops.length + kept;
  const ms = (x: number) => `${Math.round(x)} ms`;
  figures['store_down.outage_ms'] = Math.round(lostFor - powerOnMs);
  figures['store_down.answers_stop_after_ms'] = stops.length ? Math.round(Math.min(...stops)) : null;
  figures['store_down.all_silent_after_ms'] = kept || !stops.length ? null : Math.round(Math.max(...stops));
  figures['store_down.still_answered'] = kept;
  figures['store_back.power_on_ms'] = Math.round(powerOnMs);
  figures['store_back.answers_resume_after_ms'] = silent || !resumes.length ? null : Math.round(Math.max(...resumes));
  details.push(
    `lease store (${cp}) powered off for ${ms(lostFor - powerOnMs)}: ${
      kept === n
        ? `all ${n} VIP addresses stayed answered`
        : `${stops.length} of ${n} VIP addresses fell silent, from ${ms(Math.min(...stops))} to ${ms(Math.max(...stops))} after the ` +
          `loss${kept ? `; ${kept} stayed answered` : ''}`
    }`,
    silent
      ? `after the power-on began: ${silent} of ${n} VIP addresses still unanswered ${ms(powerOnMs + watchMs)} later`
      : `after the power-on began (the store back within its ${ms(powerOnMs)}): every VIP address answered again within ` +
          `${ms(Math.max(...resumes))}`,
  );
  await ctx.stableHolder(30_000).catch(() => undefined); // the next look at the lab starts from one responder
}

export default defineCheck({
  id: 'store-outage',
  title: 'Lease-store outage and fail-back (reported, not judged)',
  description:
    'Reported, not judged: whether the VIP moves back when the old holder returns, and, with the control plane (lease store) powered ' +
    'off for 4 × leaseDuration (at least 3 s; --store-down-s), how long until every VIP falls silent and how long after the store ' +
    'returns until every VIP is answered again (Cilium #40735).',
  features: [],
  injects: ['power-off'],
  async run(ctx, opts) {
    const details: string[] = [];
    const figures: Record<string, number | string | null> = {};
    const trials = allTrials(opts);
    const healed = trials.filter(
      (t) => (t.fault === 'power-off' || t.fault === 'network-off') && t.holderAfterHeal && t.arp?.oldNode,
    );
    if (healed.length) {
      const back = healed.filter((t) => t.holderAfterHeal === t.arp!.oldNode).length;
      figures.failback =
        back === 0 ? 'stays' : back === healed.length ? 'moves back' : `moves back in ${back} of ${healed.length}`;
      details.push(
        `when the old holder returns (power-off, network-off trials): the VIP ${figures.failback} ` +
          `(${healed.map((t) => `${t.arp!.oldNode}→${t.arp!.newNode}, then ${t.holderAfterHeal}`).join('; ')})`,
      );
    }
    const cp = ctx.lab.nodes.find((n) => n.role === 'control-plane');
    if (cp && ctx.subject.has('lease-store')) await storeLoss(ctx, cp.name, opts.storeDownMs, details, figures);
    return { status: 'info', details, figures };
  },
});

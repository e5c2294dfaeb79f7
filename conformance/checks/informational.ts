import type { Fault } from '../../lab/types.ts';
import { responders } from '../analyze.ts';
import { allTrials, defineCheck } from '../check.ts';

export default defineCheck({
  id: 'informational',
  title: 'Informational: fail-back and lease-store loss',
  description:
    'Reported, not judged: whether the VIP moves back when the old holder returns, and what happens to the announcement while the control plane (lease store) is powered off.',
  features: [],
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
        `when the old holder returns (power-off, network-off trials): the VIP ${figures.failback} (${healed.map((t) => `${t.arp!.oldNode}→${t.arp!.newNode}, then ${t.holderAfterHeal}`).join('; ')})`,
      );
    }
    const cp = ctx.lab.nodes.find((n) => n.role === 'control-plane');
    if (cp && ctx.subject.has('lease-store')) {
      const off: Fault = { kind: 'power-off', node: cp.name };
      const v = ctx.main.ipv4 ?? ctx.main.ipv6!;
      const fam = v.includes(':') ? 'ndp' : 'arp';
      let gone: number | undefined;
      try {
        const { events, faultAt } = await ctx.probe(
          'store-down',
          ctx.subject.budgetMs('power-off') + 500, // holders stop within renewDeadline, well inside the budget
          {
            during: () => ctx.inject(off),
          },
        );
        const after = events.filter((e) => e.t > faultAt);
        const lastAnswer = after.filter((e) => e.vip === v && e.kind === (fam === 'arp' ? 'arp-reply' : 'na')).at(-1);
        const lastReq = after.filter((e) => e.vip === v && e.kind === (fam === 'arp' ? 'arp-request' : 'ns')).at(-1);
        gone =
          lastAnswer && lastReq && lastAnswer.t < lastReq.t - 200_000 ? (lastAnswer.t - faultAt) / 1000 : undefined;
        figures['store_down.answers_stop_after_ms'] = gone === undefined ? null : Math.round(gone);
        details.push(
          gone === undefined
            ? `control plane ${cp.name} (lease store) powered off: the VIP stayed answered (by ${responders(
                after,
                v,
                fam,
              )
                .map((m) => ctx.nodeOfMac(m))
                .join(', ')})`
            : `control plane ${cp.name} (lease store) powered off: nobody answers for ${v} from ${gone.toFixed(0)} ms after (holders cannot renew)`,
        );
      } finally {
        await ctx.faults.undoIfActive(off);
      }
      const t0 = Date.now();
      await ctx.stableHolder(30_000);
      figures['store_back.recovery_ms'] = Date.now() - t0;
      details.push(`after power-on of ${cp.name}: a single responder again after ${Date.now() - t0} ms`);
    }
    return { status: 'info', details, figures };
  },
});

// NDP behind a switch that snoops MLD (Proxmox's bridges, many real switches): a neighbour
// solicitation goes to the target's solicited-node group (RFC 4861 §7.2.2) and reaches only the
// ports that joined it. An announcer that answers from user space for a VIP it never joined on
// its interface is never asked (cilium/cilium #46274, fixed by #46332 in 1.19.6/1.20.0).
import { answeredCount, requestsOf, responders } from '../analyze.ts';
import { allTrials, defineCheck } from '../check.ts';

export default defineCheck({
  id: 'multicast-snooping',
  title: 'NDP answered behind a switch that snoops MLD',
  description:
    "On a lab switch that snoops multicast (switch.multicastSnooping: a solicitation reaches only the ports that joined the VIP's " +
    'solicited-node group), every IPv6 VIP is answered by one node, and again after its holder is powered off.',
  features: ['ipv6'],
  injects: ['power-off'],
  async run(ctx, opts) {
    if (!ctx.lab.switch.multicastSnooping)
      return {
        status: 'skipped',
        reason: 'the lab switch floods multicast: set switch.multicastSnooping: true in the lab file (netns provider)',
      };
    const v6 = ctx.vips.filter((v) => v.ipv6);
    if (!v6.length) return { status: 'failed', reason: 'no IPv6 VIP to solicit: nothing was measured' };
    const problems: string[] = [];
    const details: string[] = [];
    const figures: Record<string, number | null> = {};
    const name = (m: string) => ctx.nodeOfMac(m) ?? m;
    const look = async (step: string) => {
      const { events } = await ctx.probe(`snooping-${step}`, 1500, { vips: v6 });
      for (const v of v6) {
        const ip = v.ipv6!;
        const asked = requestsOf(events, ip, 'ndp');
        const got = answeredCount(asked);
        const who = responders(events, ip, 'ndp').map(name);
        const pct = asked.length ? Math.round((100 * got) / asked.length) : null;
        const key = `${step}.answered_pct`; // the worst VIP's
        const prev = figures[key];
        figures[key] = prev === null || pct === null ? null : Math.min(prev ?? 100, pct);
        details.push(
          `${step}: ${ip} ${got} of ${asked.length} solicitations answered, by ${who.join(', ') || 'nobody'}`,
        );
        if (!asked.length) problems.push(`${step}: no solicitation for ${ip} went out: nothing was measured`);
        else if (got < asked.length * 0.95)
          problems.push(
            `${step}: ${ip} answered ${got} of ${asked.length} solicitations behind the snooping switch: its holder does not receive ` +
              `them (has it joined the solicited-node group on its interface? RFC 4861 §7.2.1)`,
          );
        else if (who.length !== 1) problems.push(`${step}: ${ip} answered by ${who.join(' and ')}`);
      }
    };
    await ctx.stableHolder().catch(() => undefined); // what answers is judged below
    await look('steady');
    // Not answered now: a takeover would show nothing more (and wait out its retries for a holder).
    if (problems.length) return { status: 'failed', reason: problems.join('; '), details, figures };
    // After a takeover the new holder must have joined too: the failover check's power-off trial, or one of its own.
    // A subject that cannot be judged fails there; a harness error stays one (check-runner).
    const trial = allTrials(opts).find((t) => t.fault === 'power-off' && t.ndp) ?? (await ctx.trial('power-off', 1));
    if (!trial.ndp?.newNode)
      problems.push(
        `after its holder was powered off no other node answered NDP (${trial.problems.join('; ') || 'no takeover'})`,
      );
    else
      details.push(
        `power-off: NDP taken over by ${trial.ndp.newNode} ${trial.ndp.takeoverMs?.toFixed(0)} ms after the fault`,
      );
    await ctx.stableHolder().catch(() => undefined);
    await look('after-failover');
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});

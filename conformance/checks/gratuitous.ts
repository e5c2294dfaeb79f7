import { allTrials, defineCheck } from '../check.ts';

export default defineCheck({
  id: 'gratuitous',
  title: 'Gratuitous ARP and unsolicited NA on takeover',
  description:
    'In every failover trial the new holder announces itself: a gratuitous ARP (and, where IPv6 is claimed, an unsolicited neighbour advertisement) from the new MAC.',
  features: ['gratuitous-arp'],
  async run(ctx, opts) {
    let trials = allTrials(opts).filter((t) => t.arp?.newMac || t.ndp?.newMac);
    if (!trials.length) trials = [await ctx.trial('power-off', 1)].filter((t) => t.arp?.newMac || t.ndp?.newMac);
    // No takeover, nothing announced: that is not a pass (failover says why).
    if (!trials.length)
      return { status: 'failed', reason: 'no failover trial had a new responder: no takeover to announce' };
    const problems: string[] = [];
    for (const t of trials) {
      if (ctx.subject.has('ipv4') && t.arp?.newMac && t.arp.announceMs === undefined)
        problems.push(`${t.fault} #${t.trial}: no gratuitous ARP from ${t.arp.newNode}`);
      if (
        ctx.subject.has('ipv6') &&
        ctx.subject.has('unsolicited-na') &&
        t.ndp?.newMac &&
        t.ndp.announceMs === undefined
      )
        problems.push(`${t.fault} #${t.trial}: no unsolicited NA from ${t.ndp.newNode}`);
    }
    const details = trials.map(
      (t) =>
        `${t.fault} #${t.trial}: GARP ${t.arp?.announceMs?.toFixed(0) ?? '-'} ms, NA ${t.ndp?.announceMs?.toFixed(0) ?? '-'} ms after the fault`,
    );
    return problems.length ? { status: 'failed', reason: problems.join('; '), details } : { status: 'passed', details };
  },
});

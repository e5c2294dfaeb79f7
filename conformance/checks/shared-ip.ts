// Services sharing one address (Cilium's LB-IPAM sharing key) are one VIP on the wire: exactly one
// node may answer for it. Cilium #48419: one election per service, so two nodes answered.
import { responders } from '../analyze.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'shared-ip',
  title: 'Shared IP: one answer for services sharing an address',
  description:
    "A second LoadBalancer service shares the Gateway's address through a sharing key (lbipam.cilium.io/sharing-key). Over a 2 s window exactly one MAC answers ARP and one NDP for it; after its holder is powered off exactly one node answers again, with no probe answered by two.",
  features: ['ip-sharing'],
  async run(ctx) {
    const v = ctx.main;
    const addr = [v.ipv4, v.ipv6].filter(Boolean).join(' and ');
    const apart = ctx.vips.filter((o) => o.service.startsWith('default/shared-'));
    if (apart.length)
      return {
        status: 'failed',
        reason: `${apart.map((o) => `${o.service} got ${[o.ipv4, o.ipv6].filter(Boolean).join(' and ')}`).join('; ')}, not ${v.service}'s ${addr}: the sharing key was not honoured`,
      };
    if (!v.shared?.length)
      return {
        status: 'skipped',
        reason: `the subject's address source (${ctx.subject.addresses}) does not name the services on an address, so the sharing cannot be seen`,
      };
    const details = [`${addr}: ${[v.service, ...v.shared].join(', ')}`];
    const problems: string[] = [];
    await ctx.stableHolder(3000).catch(() => undefined); // what answers is judged below
    const { events } = await ctx.probe('shared-ip', 2000, { vips: [v] });
    const figures: Record<string, number> = {};
    for (const [fam, ip] of [
      ['arp', v.ipv4],
      ['ndp', v.ipv6],
    ] as const) {
      if (!ip || !ctx.subject.has(fam === 'arp' ? 'ipv4' : 'ipv6')) continue;
      const who = responders(events, ip, fam).map((m) => ctx.nodeOfMac(m) ?? m);
      figures[`${fam}.responders`] = who.length;
      details.push(`${ip} (${fam.toUpperCase()}): ${who.join(', ') || 'nobody'}`);
      if (who.length !== 1)
        problems.push(
          `${ip} ${fam.toUpperCase()}: ${who.length} nodes answer (${who.join(', ') || 'none'})${who.length > 1 ? ': one election per service?' : ''}`,
        );
    }
    const t = await ctx.trial('power-off', 1);
    await ctx.settleHeal();
    for (const fam of ['arp', 'ndp'] as const)
      if (t[fam]) figures[`power_off.${fam}.split_brain_windows`] = t[fam]!.splitBrainWindows;
    details.push(
      `power-off of ${t.arp?.oldNode ?? t.ndp?.oldNode}: ${t.arp?.newNode ?? t.ndp?.newNode ?? 'nobody'} took over${t.problems.length ? ` (${t.problems.join('; ')})` : ''}`,
    );
    problems.push(...t.problems.map((p) => `power-off: ${p}`));
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});

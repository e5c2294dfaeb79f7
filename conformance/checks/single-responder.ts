import { answeredCount, requestsOf, responders } from '../analyze.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'single-responder',
  title: 'Single responder',
  description:
    'Over a 2 s window of probes, exactly one MAC answers ARP and exactly one answers NDP, per VIP, and every probe is answered.',
  features: [],
  async run(ctx) {
    await ctx.stableHolder(3000).catch(() => undefined); // give it a moment; what answers is judged below
    const vips = ctx.vips.length > 4 ? [ctx.main] : ctx.vips; // many VIPs: the scale check looks at all of them
    const { events } = await ctx.probe('single-responder', 2000, { vips });
    const problems: string[] = [],
      details: string[] = [];
    for (const v of vips)
      for (const [fam, ip] of [
        ['arp', v.ipv4],
        ['ndp', v.ipv6],
      ] as const) {
        if (!ip || !ctx.subject.has(fam === 'arp' ? 'ipv4' : 'ipv6')) continue;
        const who = responders(events, ip, fam);
        // Answered requests, not answers: a duplicate must not hide a lost one.
        const asked = requestsOf(events, ip, fam);
        const sent = asked.length;
        const got = answeredCount(asked);
        details.push(
          `${ip} (${fam.toUpperCase()}): ${who.map((m) => ctx.nodeOfMac(m)).join(', ') || 'nobody'}; ${got}/${sent} probes answered`,
        );
        if (who.length !== 1)
          problems.push(
            `${ip} ${fam.toUpperCase()}: ${who.length} responders (${who.map((m) => ctx.nodeOfMac(m)).join(', ') || 'none'})`,
          );
        if (!sent) problems.push(`${ip} ${fam.toUpperCase()}: no request went out, so nothing was measured`);
        else if (got < sent * 0.95) problems.push(`${ip} ${fam.toUpperCase()}: only ${got} of ${sent} probes answered`);
      }
    return problems.length ? { status: 'failed', reason: problems.join('; '), details } : { status: 'passed', details };
  },
});

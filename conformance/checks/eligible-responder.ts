import { defineCheck } from '../check.ts';
import { isVirtualMac } from '../vrrp.ts';

export default defineCheck({
  id: 'eligible-responder',
  title: 'Eligible responder',
  description:
    "Every answer in every capture of the run comes from a node the policy's nodeSelector allows, on its lab-switch interface; the " +
    'excluded node never answers, before or after any failover.',
  features: ['policy-node-selector'],
  async run(ctx) {
    if (!ctx.captures.length) await ctx.probe('eligible-responder', 1000);
    const allowed = new Set(ctx.eligible.map((h) => ctx.switchMac(h)));
    const bad = new Map<string, number>();
    let answers = 0;
    let unnamed = 0; // a VRRP virtual MAC that no advertisement named: no node to judge

    for (const c of ctx.captures)
      for (const e of c.result.events)
        if (e.kind === 'arp-reply' || e.kind === 'na' || e.kind === 'garp' || e.kind === 'unsolicited-na') {
          answers++;
          if (isVirtualMac(e.mac)) unnamed++;
          else if (!allowed.has(e.mac!)) bad.set(ctx.nodeOfMac(e.mac)!, (bad.get(ctx.nodeOfMac(e.mac)!) ?? 0) + 1);
        }
    const details = [
      `eligible: ${ctx.eligible.map((h) => h.name).join(', ')}; excluded: ${ctx.excluded.map((h) => h.name).join(', ') || 'none'}`,
      `${answers} answers in ${ctx.captures.length} captures`,
      ...(unnamed
        ? [`${unnamed} answers with a VRRP virtual MAC that no advertisement named (no node to judge; not counted)`]
        : []),
    ];
    if (bad.size)
      return { status: 'failed', reason: [...bad].map(([who, n]) => `${who} answered ${n} times`).join('; '), details };
    return { status: 'passed', details };
  },
});

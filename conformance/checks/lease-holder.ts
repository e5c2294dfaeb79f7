import { responders } from '../analyze.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'lease-holder',
  title: 'The lease holder answers',
  description:
    "The node that answers ARP/NDP for the Gateway's VIP is the holder of its lease (cilium-l2announce-<namespace>-<service>), as the " +
    "subject's own record says.",
  features: ['lease-store'],
  async run(ctx) {
    if (!ctx.subject.holder)
      return { status: 'skipped', reason: `not supported: subject ${ctx.subject.name} declares no holder command` };
    const [namespace, name] = ctx.main.service.split('/') as [string, string];
    const lease = `cilium-l2announce-${namespace}-${name}`; // Cilium's name for a service's L2 lease
    const answering = await ctx.stableHolder(15_000);
    const holder = await ctx.leaseHolder(lease);
    const { events } = await ctx.probe('lease-holder', 1000);
    const v = ctx.main.ipv4 && ctx.subject.has('ipv4') ? ctx.main.ipv4 : ctx.main.ipv6!;
    const who = responders(events, v, v.includes(':') ? 'ndp' : 'arp').map((m) => ctx.nodeOfMac(m));
    const details = [`lease ${lease}: held by ${holder || '(nobody)'}; ${v} answered by ${who.join(', ') || 'nobody'}`];
    if (!holder)
      return { status: 'failed', reason: `lease ${lease} has no holder while ${answering} answers`, details };
    return who.length === 1 && who[0] === holder
      ? { status: 'passed', details, figures: { holder } }
      : {
          status: 'failed',
          reason: `lease ${lease} is held by ${holder}, but ${who.join(' and ') || 'nobody'} answers for ${v}`,
          details,
        };
  },
});

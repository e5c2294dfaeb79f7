// An interface that carries the VIP but has no address of its own (cilium/cilium #41641: ARP is
// answered on it, TCP is not; #31691: such an interface was not announced on at all). Reported, not
// judged: a user sees the half-working state — who answers ARP/NDP there, and whether HTTP works.
import { domainEligible, domainNic } from '../../lab/hosts.ts';
import type { Domain, Fault, LabHost } from '../../lab/types.ts';
import { responders } from '../analyze.ts';
import { defineCheck } from '../check.ts';
import { httpGet } from '../client.ts';

const carries = (h: LabHost, d: Domain): string => {
  const a = domainNic(h, d)!.addresses;
  return a === 'ipv6' ? 'no IPv4 address' : a === 'none' ? 'no address but link-local' : 'its addresses';
};

export default defineCheck({
  id: 'unnumbered-nic',
  title: 'A NIC without addresses of its own: ARP/NDP answered, and does HTTP work?',
  description:
    'Reported, not judged. Labs with a domain whose nodes carry fewer addresses on its NIC (domains[].nodeAddresses: ipv6 or none), ' +
    "else skipped. A node of the domain with such a NIC is made the holder of the domain's service (the subject stopped on the " +
    'numbered nodes that hold it first, restarted after); the client then reports who answers ARP/NDP for it on the domain and ' +
    'whether its HTTP gets an answer there within 2 s (cilium/cilium #41641: answered ARP but no L3 without an IPv4 address).',
  features: [],
  injects: ['graceful-stop'],
  async run(ctx) {
    const lab = ctx.lab;
    const domains = lab.domains.filter((d) => domainEligible(d, lab.nodes).some((n) => domainNic(n, d)!.addresses));
    if (!domains.length)
      return {
        status: 'skipped',
        reason:
          'no node the policy allows has a domain NIC with fewer addresses (domains[].nodeAddresses in the lab file)',
      };
    const details: string[] = [];
    const figures: Record<string, number | null> = {};
    let judged = 0;
    for (const d of domains) {
      const v = ctx.domainVips.find((x) => x.domain === d.name);
      if (!v) {
        details.push(
          `domain ${d.name}: the subject's address source (${ctx.subject.addresses}) names no service of its pool`,
        );
        continue;
      }
      const eligible = domainEligible(d, lab.nodes);
      const stopped: Fault[] = [];
      try {
        let holder: LabHost | undefined;
        let who: Record<string, string[]> = {};
        for (let n = 0; n <= eligible.length; n++) {
          const { events } = await ctx.probe(`unnumbered-${d.name}`, 1500, { vips: [v], iface: d.interface });
          who = Object.fromEntries(ctx.claimedOf(v).map(({ ip, family }) => [family, responders(events, ip, family)]));
          const mac = Object.values(who).flat()[0];
          holder = eligible.find((h) => domainNic(h, d)!.mac === mac);
          if (!holder || domainNic(holder, d)!.addresses) break;
          // A numbered node holds it: stopped, so that the next one takes over.
          const stop: Fault = { kind: 'graceful-stop', node: holder.name, process: ctx.subject.service };
          details.push(
            `domain ${d.name}: ${holder.name} (${carries(holder, d)}) held it: ${ctx.subject.service} stopped there`,
          );
          await ctx.inject(stop);
          stopped.push(stop);
          await ctx.anyAnswer(ctx.subject.budgetMs('graceful-stop') + 2000);
        }
        if (!holder) {
          details.push(`domain ${d.name}: ${v.ipv4 ?? v.ipv6} answered by no node the policy allows`);
          continue;
        }
        judged++;
        const nic = domainNic(holder, d)!;
        for (const { ip, family } of ctx.claimedOf(v)) {
          const macs = who[family] ?? [];
          figures[`${d.name}.${family}.answered`] = macs.length ? 1 : 0;
          const http = await httpGet(ctx, lab.client.name, ip);
          figures[`${d.name}.${family}.http_ms`] = http.by ? http.ms : null;
          details.push(
            `domain ${d.name}: ${ip} ${family.toUpperCase()} ${
              macs.length ? `answered by ${macs.map((m) => ctx.nodeOfMac(m)).join(', ')}` : 'not answered'
            } (${holder.name}'s ${nic.name}: ${carries(holder, d)}); HTTP from the client on ${d.interface}: ${
              http.by ? `answered by ${http.by} after ${http.ms} ms` : `no answer in ${http.ms} ms`
            }${macs.length && !http.by ? ' — answered at L2, unusable at L3 (cilium/cilium #41641)' : ''}`,
          );
        }
      } finally {
        for (const f of stopped) await ctx.faults.undoIfActive(f);
      }
    }
    if (!judged) return { status: 'skipped', reason: details.join('; ') };
    return { status: 'info', details, figures };
  },
});

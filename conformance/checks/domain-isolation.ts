// Several L2 domains in one lab (VLANs, switches of their own), each with its pool and policy:
// a service is announced in its own domain only — never on another domain's switch or VLAN — by
// that domain's eligible nodes only, and its failover stays inside the domain.
import { domainEligible, domainNic } from '../../lab/hosts.ts';
import type { Fault, LabHost } from '../../lab/types.ts';
import { failover, responders } from '../analyze.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'domain-isolation',
  title: 'L2 domains: each service answered in its own domain only, by its eligible nodes',
  description:
    "For every further L2 domain of the lab (a VLAN or a switch of its own, with its pool and policy), its service's address is " +
    "answered on the domain's NIC by exactly one MAC, a NIC there of a node its policy allows; ARP/NDP for it on the client's other NICs " +
    '(the lab switch, the other domains) gets no answer; when that node is powered off, another eligible node of the same domain answers ' +
    'within the budget, and still nothing answers elsewhere.',
  features: [],
  injects: ['power-off'],
  async run(ctx) {
    const lab = ctx.lab;
    if (!lab.domains.length)
      return { status: 'skipped', reason: 'the lab has one L2 domain (no domains: in the lab file)' };
    const nameOf = (mac: string) => {
      for (const h of [...lab.nodes, lab.client])
        for (const i of h.interfaces) if (i.mac === mac) return i.network === 'switch' ? h.name : `${h.name}/${i.name}`;
      return mac;
    };
    const details: string[] = [];
    const problems: string[] = [];
    const figures: Record<string, number | null> = {};
    let judged = 0;
    for (const d of lab.domains) {
      const v = ctx.domainVips.find((x) => x.domain === d.name);
      if (!v) {
        details.push(
          `domain ${d.name}: the subject's address source (${ctx.subject.addresses}) names no service of pool ${d.pool.name}`,
        );
        continue;
      }
      judged++;
      const own = d.interface;
      const elsewhere = lab.client.interfaces.filter((i) => i.network !== 'management' && i.name !== own);
      const allowed = new Map(domainEligible(d, lab.nodes).map((n) => [domainNic(n, d)!.mac, n]));
      const claimed = ctx.claimedOf(v);
      const where = (i: { name: string; domain?: string }) =>
        `${i.name} (${i.domain ? `domain ${i.domain}` : 'the lab switch'})`;

      // Outside the domain: nobody may answer, on any other NIC of the client.
      const leaks = async (step: string) => {
        let n = 0;
        for (const i of elsewhere) {
          const { events } = await ctx.probe(`domain-${d.name}-${step}-on-${i.name}`, 1000, {
            vips: [v],
            iface: i.name,
          });
          for (const { ip, family } of claimed) {
            const who = responders(events, ip, family);
            n += who.length;
            if (who.length)
              problems.push(
                `domain ${d.name}: ${ip} ${family.toUpperCase()} answered on ${where(i)} by ${who
                  .map(nameOf)
                  .join(', ' + '')}${step === 'steady' ? '' : ` (${step})`}: announced outside its L2 domain`,
              );
          }
        }
        return n;
      };

      const { events } = await ctx.probe(`domain-${d.name}`, 1500, { vips: [v], iface: own });
      let holder: LabHost | undefined;
      for (const { ip, family } of claimed) {
        const who = responders(events, ip, family);
        figures[`${d.name}.${family}.responders`] = who.length;
        details.push(`domain ${d.name} (${own}): ${ip} answered by ${who.map(nameOf).join(', ') || 'nobody'}`);
        const foreign = who.filter((m) => !allowed.has(m));
        if (who.length !== 1)
          problems.push(
            `domain ${d.name}: ${ip} ${family.toUpperCase()}: ${who.length} MACs answer on ${own} (${
              who.map(nameOf).join(', ' + '') || 'none'
            })`,
          );
        if (foreign.length)
          problems.push(
            `domain ${d.name}: ${ip} ${family.toUpperCase()} answered by ${foreign.map(nameOf).join(', ')}, not a NIC of a node its ` +
              `policy ${d.policy.name} allows (${[...allowed.values()].map((n) => n.name).join(', ')})`,
          );
        holder ??= allowed.get(who[0] ?? '');
      }
      figures[`${d.name}.leaks`] = await leaks('steady');
      if (problems.length || !holder) continue;

      // Failover stays inside the domain.
      const others = [...allowed.values()].filter((n) => n !== holder);
      if (!others.length) {
        details.push(`domain ${d.name}: one eligible node, no failover to see`);
        continue;
      }
      const off: Fault = { kind: 'power-off', node: holder.name };
      const budget = ctx.subject.budgetMs('power-off');
      let moved;
      try {
        moved = await ctx.probe(`domain-${d.name}-power-off`, budget + 1000, {
          vips: [v],
          iface: own,
          during: () => ctx.inject(off),
          settle: { announce: [], tailMs: 300 },
        });
        figures[`${d.name}.leaks_after_failover`] = await leaks('after the failover');
      } finally {
        await ctx.faults.undoIfActive(off);
      }
      for (const { ip, family } of claimed) {
        const fo = failover(moved.events, ip, family, moved.faultAt);
        const ms = fo.firstNew ? Math.round((fo.firstNew - moved.faultAt) / 1000) : null;
        figures[`${d.name}.failover.${family}_ms`] = ms;
        const to = fo.newMac ? nameOf(fo.newMac) : 'nobody';
        details.push(
          `domain ${d.name}: ${holder.name} powered off: ${ip} answered by ${to}${ms === null ? '' : ` after ${ms} ms`}`,
        );
        if (!fo.newMac || ms === null)
          problems.push(
            `domain ${d.name}: ${ip} ${family.toUpperCase()}: nobody took over within ${budget + 1000} ms of ${holder.name}'s power-off`,
          );
        else if (!allowed.has(fo.newMac))
          problems.push(
            `domain ${d.name}: ${ip} ${family.toUpperCase()}: ${to} took over, not a node of the domain its policy allows`,
          );
        else if (ms > budget)
          ctx.late(
            problems,
            details,
            `domain ${d.name}: ${ip} ${family.toUpperCase()}: taken over after ${ms} ms, budget ${budget} ms`,
          );
      }
      await ctx.settled(budget).catch(() => undefined); // the returning node settles before the next domain
    }
    if (!judged) return { status: 'skipped', reason: details.join('; ') };
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});

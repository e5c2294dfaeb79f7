// A NIC that appears after the announcer started (cilium/cilium #45719: a VLAN created after the
// agent started carried nothing until the agent was restarted). The domain's NIC is taken out of
// its eligible nodes, their announcers restarted without it, then it is plugged into one node
// again: the domain's service must be answered there, within the budget, without a restart.
import { hasPrimitive } from '../../lab/faults/index.ts';
import { domainEligible, domainNic } from '../../lab/hosts.ts';
import type { Fault } from '../../lab/types.ts';
import { failover, responders } from '../analyze.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'late-interface',
  title: 'A NIC plugged in after the announcer started is announced on',
  description:
    "Labs with domains: (else skipped): the first domain's NIC is taken out of every node its policy allows (fault nic-remove: the " +
    'interface is gone) and the subject restarted on them without it; then the NIC is plugged into one of them again (nic-add: ' +
    "hot-plugged, configured as lab:up does): that node must answer ARP/NDP for the domain's service on it within the budget, " +
    'without a restart (cilium/cilium #45719). Timed from the start of the plug-in.',
  features: [],
  injects: ['nic-remove', 'graceful-stop'],
  async run(ctx) {
    const lab = ctx.lab;
    if (!lab.domains.length)
      return {
        status: 'skipped',
        reason: 'the lab has one L2 domain (no domains: in the lab file): no NIC to plug in',
      };
    if (!hasPrimitive(ctx.provider, lab, 'nic'))
      return {
        status: 'skipped',
        reason: `provider ${lab.provider} cannot take a NIC out of a running node (primitive nic)`,
      };
    const d = lab.domains.find((x) => ctx.domainVips.some((v) => v.domain === x.name));
    if (!d)
      return {
        status: 'skipped',
        reason: `the subject's address source (${ctx.subject.addresses}) names no service of a domain's pool`,
      };
    const v = ctx.domainVips.find((x) => x.domain === d.name)!;
    const nodes = domainEligible(d, lab.nodes);
    const target = nodes[0]!;
    const nic = domainNic(target, d)!;
    const removed: Fault[] = nodes.map((n) => ({ kind: 'nic-remove', node: n.name, iface: domainNic(n, d)!.name }));
    const restart = async () => {
      for (const n of nodes) {
        const stop: Fault = { kind: 'graceful-stop', node: n.name, process: ctx.subject.service };
        await ctx.inject(stop);
        await ctx.undo(stop); // started again: waits until the subject is ready there
      }
    };
    const details: string[] = [];
    const problems: string[] = [];
    const figures: Record<string, number | null> = {};
    const budget = ctx.subject.budgetMs('nic-remove');
    let plugged = false;
    try {
      for (const f of removed) await ctx.inject(f);
      await restart();
      const out = removed.map((f) => `${f.node} ${f.iface}`).join(', ');
      details.push(`domain ${d.name}: ${out} taken out; ${ctx.subject.service} restarted there`);
      const without = await ctx.probe(`late-interface-${d.name}-without`, 1000, { vips: [v], iface: d.interface });
      const early = ctx.claimedOf(v).flatMap(({ ip, family }) => responders(without.events, ip, family));
      figures['without.responders'] = early.length;
      if (early.length)
        details.push(
          `before the plug-in ${v.ipv4 ?? v.ipv6} was answered by ${early.map((m) => ctx.nodeOfMac(m)).join(', ')}`,
        );

      const w = await ctx.probe(`late-interface-${d.name}-plug`, budget + 1000, {
        vips: [v],
        iface: d.interface,
        during: async () => {
          await ctx.undo(removed[0]!);
          plugged = true;
        },
        settle: { announce: [], tailMs: 300 },
      });
      for (const { ip, family } of ctx.claimedOf(v)) {
        const fo = failover(w.events, ip, family, w.faultAt);
        const ms = fo.firstNew ? Math.round((fo.firstNew - w.faultAt) / 1000) : null;
        figures[`${family}_ms`] = ms;
        const who = fo.newMac ? ctx.nodeOfMac(fo.newMac) : undefined;
        const seen = who ? `answered by ${who} after ${ms} ms` : `not answered within ${budget + 1000} ms`;
        details.push(`${target.name} ${nic.name} plugged in: ${ip} ${seen}`);
        if (!fo.newMac || ms === null)
          problems.push(
            `${ip} ${family.toUpperCase()}: not answered on ${target.name}'s ${nic.name} within ${budget + 1000} ms of its plug-in: ` +
              'the announcer did not pick up the new NIC without a restart (cilium/cilium #45719)',
          );
        else if (fo.newMac !== nic.mac)
          problems.push(`${ip} ${family.toUpperCase()}: answered by ${who}, not by ${target.name}'s new ${nic.name}`);
        else if (ms > budget)
          ctx.late(
            problems,
            details,
            `${ip} ${family.toUpperCase()}: answered ${ms} ms after the plug-in, budget ${budget} ms`,
          );
      }
    } finally {
      for (const f of removed) await ctx.faults.undoIfActive(f);
      // An announcer that missed the NIC would miss it for the next checks too: restarted with it.
      if (!plugged || problems.length) await restart().catch(() => undefined);
    }
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});

// A node of the cluster as the client (cilium/cilium #27521, open: ARP from another node of the
// cluster to the VIP gets no answer): pods and host processes on other nodes use the VIP too.
import { findHost, switchNic } from '../../lab/hosts.ts';
import { afterPowerOff, defineCheck } from '../check.ts';
import { HTTP_WITHIN_MS, httpGet } from '../client.ts';
import type { Context } from '../context.ts';

/** One node's GET of the VIP after a fresh resolution: the answering node, how long it took, and how the node got there. */
async function getFrom(ctx: Context, node: string, vip: string): Promise<{ by?: string; ms: number; how: string }> {
  const nic = switchNic(findHost(ctx.lab, node)).name;
  // A fresh resolution: what the node knew before is not what this check asks.
  await ctx.provider.exec(ctx.lab, node, ['ip', 'neigh', 'flush', 'to', vip, 'dev', nic]);
  const { by, ms } = await httpGet(ctx, node, vip);
  const neigh = (await ctx.provider.exec(ctx.lab, node, ['ip', '-j', 'neigh', 'show', 'to', vip, 'dev', nic])).stdout;
  const entry = (JSON.parse(neigh || '[]') as { lladdr?: string; state?: string[] }[])[0];
  const how = entry?.lladdr
    ? `resolved over the lab switch to ${ctx.nodeOfMac(entry.lladdr)}`
    : entry
      ? `its ARP for it went unanswered (${entry.state?.join(',') ?? 'no state'})`
      : 'served locally (no ARP: the VIP is its own)';
  return { ...(by ? { by } : {}), ms, how };
}

export default defineCheck({
  id: 'node-client',
  title: 'Nodes of the cluster reach the VIP',
  description:
    'A node that does not hold the VIP — one the policy allows and one it does not — gets HTTP answers from it within 2 s (cilium/cilium ' +
    "#27521: ARP from another node got no answer), at steady state and after a power-off takeover (the failover check's, or its own). " +
    'Reports how each got there: over ' +
    "the lab switch (its neighbour entry names the holder) or locally (the VIP is the node's own).",
  features: ['ipv4', 'http'],
  injects: ['power-off'],
  async run(ctx, opts) {
    const vip = ctx.main.ipv4!;
    const problems: string[] = [];
    const details: string[] = [];
    const figures: Record<string, number | null> = {};
    let overSwitch = 0; // answers a node got by resolving the VIP over the lab switch: what #27521 is about
    const phase = async (step: string): Promise<boolean> => {
      const holder = (await ctx.stableHolder()).split('/')[0]!;
      const clients = [
        ...ctx.eligible
          .filter((n) => n.name !== holder)
          .slice(0, 1)
          .map((n) => ({ n, kind: 'allowed by the policy' })),
        ...ctx.excluded.slice(0, 1).map((n) => ({ n, kind: 'not allowed by the policy' })),
      ];
      for (const { n, kind } of clients) {
        const r = await getFrom(ctx, n.name, vip);
        if (!r.how.startsWith('served locally')) overSwitch++;
        figures[`${step}.${n.name}_ms`] = r.by ? r.ms : null;
        details.push(
          `${step}: ${n.name} (${kind}; ${holder} holds ${vip}): ${r.by ? `answered by ${r.by} after ${r.ms} ms` : 'no answer'}, ${r.how}`,
        );
        if (!r.by)
          problems.push(
            `${step}: ${n.name} (${kind}) got no HTTP answer from ${vip} in ${HTTP_WITHIN_MS + ctx.subject.extraSlackMs} ms: ${r.how}`,
          );
      }
      return clients.length > 0;
    };
    if (!(await phase('steady')))
      return {
        status: 'skipped',
        reason: 'no node but the holder to ask from: the lab needs another eligible or an excluded node',
      };
    const skipped = {
      status: 'skipped' as const,
      reason:
        'no node resolved the VIP over the lab switch (each was served locally): the lab needs a node the policy excludes',
      details,
      figures,
    };
    // Every node may announce and each was served locally: none will ever cross the switch (and a
    // power-off might hit the lease store's node).
    if (!problems.length && !overSwitch && !ctx.excluded.length) return skipped;
    // After a takeover: the failover check's power-off trial where it ran one (the run's time), else one of its own.
    const trial = await afterPowerOff(ctx, opts);
    if (!trial.arp?.newNode)
      problems.push(`after a power-off no other node answered ARP (${trial.problems.join('; ')})`);
    else await phase('after-failover');
    if (problems.length) return { status: 'failed', reason: problems.join('; '), details, figures };
    // Every node asked was served locally: nothing crossed the switch, nothing about #27521 was measured.
    if (!overSwitch) return skipped;
    return { status: 'passed', details, figures };
  },
});

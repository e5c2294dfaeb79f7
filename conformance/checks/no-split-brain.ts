import { findHost } from '../../lab/hosts.ts';
import type { Fault } from '../../lab/types.ts';
import type { Vip } from '../addresses/index.ts';
import { answeredCount, duplicates, requestsOf, responders, splitBrain } from '../analyze.ts';
import { defineCheck } from '../check.ts';
import type { ProbeResult } from '../events.ts';

export default defineCheck({
  id: 'no-split-brain',
  title: 'No split-brain',
  description:
    'In no capture of the run is one request answered by two MACs (answers tied to their requests by content) — also right after a ' +
    'paused holder resumes, and when the holder loses its lease store but not the switch. No capture, no answer or dropped frames: not ' +
    'a pass.',
  features: [],
  injects: ['pause', 'link-down'],
  async run(ctx) {
    const details: string[] = [];
    // A paused holder resumes after another node took over: it must not answer again.
    if (ctx.subject.service) {
      const holder = (await ctx.stableHolder()).split('/')[0]!;
      const hold = ctx.subject.budgetMs('pause') + 300;
      const pause: Fault = { kind: 'pause', node: holder, process: ctx.subject.service };
      const { events } = await ctx.probe('pause-resume', hold + 1200, {
        during: async () => {
          await ctx.inject(pause);
          await new Promise((r) => setTimeout(r, hold));
          await ctx.undo(pause);
        },
      });
      const tail = events.filter((e) => e.t > (events.at(-1)?.t ?? 0) - 1000_000);
      const v = ctx.main.ipv4 ?? ctx.main.ipv6!;
      details.push(
        `pause ${holder} for ${hold} ms, then resume: last second answered by ${responders(
          tail,
          v,
          v.includes(':') ? 'ndp' : 'arp',
        )
          .map((m) => ctx.nodeOfMac(m))
          .join(', ')}`,
      );
    }
    // The holder loses the management network (its lease store) but keeps the switch.
    const holder = ctx.subject.has('lease-store') ? (await ctx.stableHolder()).split('/')[0]! : '';
    const store = holder && findHost(ctx.lab, holder).interfaces.find((i) => i.network === 'management');
    if (holder && !store)
      details.push(`store partition not tried: the lab does not say which NIC of ${holder} reaches its lease store`);
    if (store) {
      const cut: Fault = { kind: 'link-down', node: holder, iface: store.name };
      try {
        // Until another node has taken over, then half a second more: the cut-off holder must stay quiet.
        await ctx.probe('store-partition', ctx.subject.budgetMs('power-off') + 1500, {
          during: () => ctx.inject(cut),
          settle: { announce: [], tailMs: 500 },
        });
      } finally {
        await ctx.faults.undoIfActive(cut);
      }
      details.push(`management link of ${holder} down (store unreachable, switch up)`);
    }
    const verdict = judgeSplitBrain(ctx.captures, ctx.vips, (m) => ctx.nodeOfMac(m) ?? m);
    details.push(...verdict.details);
    return verdict.problems.length
      ? { status: 'failed', reason: verdict.problems.join('; '), details }
      : { status: 'passed', details };
  },
});

/**
 * Split-brain over every capture of the run: no request answered by two MACs. Nothing measured is
 * no pass: no capture, no answered request, or a capture that dropped frames (a second answer may
 * be among them) fails with the reason. Duplicates (one MAC answering twice) are reported apart.
 */
export function judgeSplitBrain(
  captures: readonly { name: string; result: ProbeResult }[],
  vips: readonly Pick<Vip, 'ipv4' | 'ipv6'>[],
  nodeOf: (mac: string) => string,
): { problems: string[]; details: string[] } {
  const problems: string[] = [];
  let answered = 0;
  let dups = 0;
  for (const c of captures) {
    const dropped = (c.result.stats?.dropped ?? 0) + (c.result.stats?.ifDropped ?? 0);
    if (dropped) problems.push(`${c.name}: the capture dropped ${dropped} frames, so a second answer may be missing`);
    for (const v of vips)
      for (const [fam, ip] of [
        ['arp', v.ipv4],
        ['ndp', v.ipv6],
      ] as const) {
        if (!ip) continue;
        answered += answeredCount(requestsOf(c.result.events, ip, fam));
        dups += duplicates(c.result.events, ip, fam);
        const w = splitBrain(c.result.events, ip, fam);
        if (w.length)
          problems.push(
            `${c.name}: ${ip} ${fam.toUpperCase()} ${w.length} requests answered by ${w[0]!.macs.map(nodeOf).join(' and ')}`,
          );
      }
  }
  if (!captures.length) problems.push('no capture to examine: nothing was measured');
  else if (!answered) problems.push(`no request was answered in ${captures.length} captures: nothing to judge`);
  const details = [`${captures.length} captures examined, ${answered} answered requests`];
  if (dups) details.push(`${dups} requests answered twice by one MAC (duplicates, not split-brain)`);
  return { problems, details };
}

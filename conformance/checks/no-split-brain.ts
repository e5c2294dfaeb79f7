import type { Fault } from '../../lab/types.ts';
import { MANAGEMENT_INTERFACE } from '../../lab/types.ts';
import { responders, splitBrainWindows } from '../analyze.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'no-split-brain',
  title: 'No split-brain',
  description:
    'In no capture of the run do two MACs answer for one VIP within one probe window — also right after a paused holder resumes, and when the holder loses its lease store but not the switch.',
  features: [],
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
    if (ctx.subject.has('lease-store')) {
      const holder = (await ctx.stableHolder()).split('/')[0]!;
      const cut: Fault = { kind: 'link-down', node: holder, iface: MANAGEMENT_INTERFACE };
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
    const bad: string[] = [];
    for (const c of ctx.captures)
      for (const v of ctx.vips)
        for (const [fam, ip] of [
          ['arp', v.ipv4],
          ['ndp', v.ipv6],
        ] as const) {
          if (!ip) continue;
          const w = splitBrainWindows(c.result.events, ip, fam);
          if (w.length)
            bad.push(
              `${c.name}: ${ip} ${fam.toUpperCase()} answered by ${w[0]!.macs.map((m) => ctx.nodeOfMac(m)).join(' and ')} in ${w.length} windows`,
            );
        }
    details.push(`${ctx.captures.length} captures examined`);
    return bad.length ? { status: 'failed', reason: bad.join('; '), details } : { status: 'passed', details };
  },
});

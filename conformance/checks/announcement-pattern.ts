// How a subject announces a takeover over time — kube-vip repeats a gratuitous ARP every 3 s,
// MetalLB sends a burst, Cilium one — which decides whether a client that missed the first one
// recovers (informational: reported, not judged; gratuitous judges that there is one).
import { defineCheck, watchedTrial } from '../check.ts';
import type { FamilyFailover } from '../model.ts';
import { RELAPSE_PROBES } from './failover.ts';

/** How long after the failover has played out the capture keeps watching. */
const WATCH_MS = 6000;

/** "3 in 1200 ms, every 600 ms" from announcement times (ms after the fault). */
export function announcementPattern(times: number[]): string {
  if (!times.length) return 'none';
  if (times.length === 1) return 'one';
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  const sorted = [...gaps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${times.length} in ${Math.round(times.at(-1)! - times[0]!)} ms, every ${Math.round(median)} ms (median gap)`;
}

/**
 * The announcements of the takeover itself, and those after a relapse: a holder that fell silent
 * and took the VIP again (lease flapping) announces again, which is not the subject's pattern.
 */
export function familyPattern(
  fo: FamilyFailover,
  probeIntervalMs: number,
): { times: number[]; again: number[]; relapse: boolean } {
  const all = fo.announceTimesMs ?? [];
  const relapse = (fo.relapseMs ?? 0) > RELAPSE_PROBES * probeIntervalMs;
  const end = relapse ? fo.relapseAtMs! : Infinity;
  return { times: all.filter((x) => x <= end), again: all.filter((x) => x > end), relapse };
}

export default defineCheck({
  id: 'announcement-pattern',
  title: 'Announcement pattern after a takeover',
  description:
    `Informational: one power-off trial watched ${WATCH_MS / 1000} s past the takeover (the failover check's first, where it ran ` +
    `one); every gratuitous ARP and unsolicited NA the new holder sends, with their spacing.`,
  features: [],
  injects: ['power-off'],
  readsTrial: { fault: 'power-off', watchAfterMs: WATCH_MS },
  async run(ctx, opts) {
    const reused = watchedTrial(opts, 'power-off', WATCH_MS);
    const t = reused ?? (await ctx.trial('power-off', 1, { watchAfterMs: WATCH_MS }));
    const figures: Record<string, number | string | null> = {};
    const details: string[] = [];
    const families: [string, string, FamilyFailover | undefined][] = [
      ['arp', 'gratuitous ARP', t.arp],
      ['ndp', 'unsolicited NA', t.ndp],
    ];
    for (const [key, what, fo] of families) {
      if (!fo) continue;
      const p = familyPattern(fo, ctx.probeIntervalMs);
      figures[`${key}.announcements`] = p.times.length;
      figures[`${key}.pattern`] = announcementPattern(p.times);
      figures[`${key}.relapse_ms`] = p.relapse ? fo.relapseMs! : null;
      const first = p.times[0];
      details.push(
        fo.newNode
          ? `${what} from ${fo.newNode}: ${announcementPattern(p.times)}${
              first === undefined
                ? ''
                : ` (first ${Math.round(first)} ms ` +
                  `after the fault; at ${p.times.map((x) => Math.round(x - first)).join(', ')} ms)`
            }`
          : `${what}: nobody took over (${t.problems.join('; ')})`,
      );
      if (p.relapse)
        details.push(
          `${what}: nobody answered for ${Math.round(fo.relapseMs!)} ms from ${Math.round(fo.relapseAtMs!)} ms after the fault (the VIP ` +
            `was lost and taken again); then ${announcementPattern(p.again)}`,
        );
    }
    details.push(`capture: ${t.capture}${reused ? " (the failover check's power-off trial #1)" : ''}`);
    return { status: 'info', details, figures };
  },
});

// How a subject announces a takeover over time — kube-vip repeats a gratuitous ARP every 3 s,
// MetalLB sends a burst, Cilium one — which decides whether a client that missed the first one
// recovers (informational: reported, not judged; gratuitous judges that there is one).
import { defineCheck } from '../check.ts';
import type { FamilyFailover } from '../model.ts';

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

export default defineCheck({
  id: 'announcement-pattern',
  title: 'Announcement pattern after a takeover',
  description: `Informational: one power-off trial watched ${WATCH_MS / 1000} s past the takeover; every gratuitous ARP and unsolicited NA the new holder sends, with their spacing.`,
  features: [],
  async run(ctx) {
    const t = await ctx.trial('power-off', 1, { watchAfterMs: WATCH_MS });
    const figures: Record<string, number | string | null> = {};
    const details: string[] = [];
    const families: [string, string, FamilyFailover | undefined][] = [
      ['arp', 'gratuitous ARP', t.arp],
      ['ndp', 'unsolicited NA', t.ndp],
    ];
    for (const [key, what, fo] of families) {
      if (!fo) continue;
      const times = fo.announceTimesMs ?? [];
      figures[`${key}.announcements`] = times.length;
      figures[`${key}.pattern`] = announcementPattern(times);
      const first = times[0];
      details.push(
        fo.newNode
          ? `${what} from ${fo.newNode}: ${announcementPattern(times)}${first === undefined ? '' : ` (first ${Math.round(first)} ms after the fault; at ${times.map((x) => Math.round(x - first)).join(', ')} ms)`}`
          : `${what}: nobody took over (${t.problems.join('; ')})`,
      );
    }
    details.push(`capture: ${t.capture}`);
    return { status: 'info', details, figures };
  },
});

import { faultPlugin } from '../../lab/faults/index.ts';
import { spread } from '../analyze.ts';
import { defineCheck } from '../check.ts';
import type { Feature, Trial } from '../model.ts';

/** The faults a subject can be put through: a trial whose features it does not claim (graceful stop needs graceful-release) is left out. */
export function faultsFor(faults: string[], has: (f: Feature) => boolean): string[] {
  return faults.filter((f) => (faultPlugin(f).trial?.needs ?? []).every((n) => has(n as Feature)));
}

export default defineCheck({
  id: 'failover',
  title: 'Failover under faults',
  description:
    "For each fault (power off, announcing link down, all networking off, announcer process killed, announcer paused, graceful stop), another eligible node answers within the subject's budget; outages for ARP, NDP and HTTP are measured from the client. Each fault is undone and the lab is back to one stable responder before the next trial.",
  features: [],
  async run(ctx, opts) {
    const trials: Trial[] = [];
    for (const fault of faultsFor(opts.faults, (f) => ctx.subject.has(f)))
      for (let i = 1; i <= opts.trials; i++) trials.push(await ctx.trial(fault, i));
    await ctx.settleHeal(); // the last trial's heal is judged too
    const figures: Record<string, number | null> = {};
    for (const fault of new Set(trials.map((t) => t.fault))) {
      const ts = trials.filter((t) => t.fault === fault);
      for (const [name, pick] of [
        ['arp', (t: Trial) => t.arp?.outageMs],
        ['ndp', (t: Trial) => t.ndp?.outageMs],
        ['http', (t: Trial) => t.http?.outageMs],
      ] as const) {
        const s = spread(ts.map(pick));
        figures[`${fault}.${name}.median_ms`] = s?.median ?? null;
        figures[`${fault}.${name}.p95_ms`] = s?.p95 ?? null;
        figures[`${fault}.${name}.max_ms`] = s?.max ?? null;
      }
    }
    const failed = trials.filter((t) => !t.passed);
    return {
      status: failed.length ? 'failed' : 'passed',
      reason: failed.length
        ? failed.map((t) => `${t.fault} #${t.trial}: ${t.problems.join('; ')}`).join(' | ')
        : undefined,
      details: trials.map(
        (t) =>
          `${t.fault} #${t.trial}: ${t.arp?.oldNode ?? t.ndp?.oldNode} → ${t.arp?.newNode ?? t.ndp?.newNode ?? 'nobody'}; ARP ${t.arp?.takeoverMs?.toFixed(0) ?? '-'} ms, NDP ${t.ndp?.takeoverMs?.toFixed(0) ?? '-'} ms, HTTP outage ${t.http?.outageMs?.toFixed(0) ?? '-'} ms (budget ${t.budgetMs} ms)`,
      ),
      figures,
      trials,
    };
  },
});

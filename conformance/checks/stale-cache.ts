import { allTrials, defineCheck } from '../check.ts';

export default defineCheck({
  id: 'stale-cache',
  title: 'HTTP recovers with a stale neighbour cache',
  description:
    'The client keeps its populated ARP/neighbour entry (never flushed) and still gets HTTP answers again within the failover budget ' +
    '(on an emulated lab the time is reported, not judged; that HTTP comes back at all still is).',
  features: ['http'],
  injects: ['power-off'],
  async run(ctx, opts) {
    let trials = allTrials(opts).filter((t) => t.http);
    if (!trials.length) trials = [await ctx.trial('power-off', 1)];
    // The HTTP prober's interval and timeout; its timeout grows by the lab's processing slack.
    const slack = 300 + ctx.subject.extraSlackMs;
    // On an emulated lab the HTTP time is reported, not judged; that HTTP comes back at all still is.
    const emulated = ctx.emulated;
    const late = (t: (typeof trials)[number]) => t.http?.outageMs !== undefined && t.http.outageMs > t.budgetMs + slack;
    const problems = trials
      .filter((t) => t.http?.outageMs === undefined || (late(t) && !emulated))
      .map(
        (t) =>
          `${t.fault} #${t.trial}: HTTP ${
            t.http?.outageMs === undefined ? 'did not recover' : `recovered after ${t.http.outageMs.toFixed(0)} ms`
          } (budget ${t.budgetMs} + ${slack} ms)`,
      );
    const details = trials.map(
      (t) =>
        `${t.fault} #${t.trial}: HTTP outage ${t.http?.outageMs?.toFixed(0) ?? '-'} ms, ${t.http?.before} → ${t.http?.after}` +
        (late(t) && emulated
          ? ` — over the budget (${t.budgetMs} + ${slack} ms) under emulation: reported, not judged`
          : ''),
    );
    return problems.length ? { status: 'failed', reason: problems.join('; '), details } : { status: 'passed', details };
  },
});

import { allTrials, defineCheck } from '../check.ts';

export default defineCheck({
  id: 'stale-cache',
  title: 'HTTP recovers with a stale neighbour cache',
  description:
    'The client keeps its populated ARP/neighbour entry (never flushed) and still gets HTTP answers again within the failover budget.',
  features: ['http'],
  async run(ctx, opts) {
    let trials = allTrials(opts).filter((t) => t.http);
    if (!trials.length) trials = [await ctx.trial('power-off', 1)];
    const slack = 300; // the HTTP prober's interval and timeout
    const problems = trials
      .filter((t) => t.http?.outageMs === undefined || t.http.outageMs > t.budgetMs + slack)
      .map(
        (t) =>
          `${t.fault} #${t.trial}: HTTP ${
            t.http?.outageMs === undefined ? 'did not recover' : `recovered after ${t.http.outageMs.toFixed(0)} ms`
          } (budget ${t.budgetMs} + ${slack} ms)`,
      );
    const details = trials.map(
      (t) =>
        `${t.fault} #${t.trial}: HTTP outage ${t.http?.outageMs?.toFixed(0) ?? '-'} ms, ${t.http?.before} → ${t.http?.after}`,
    );
    return problems.length ? { status: 'failed', reason: problems.join('; '), details } : { status: 'passed', details };
  },
});

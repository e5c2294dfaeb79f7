// The statistics every figure of l2lab is reported with, in one place (suite, reports, bench):
// percentiles by nearest rank, so a reported median or p95 is always a value that was measured.

/** The p-th percentile by nearest rank (p 50: the median; with an even count, the lower middle). */
export function percentile(xs: number[], p: number): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1))];
}

/** Median, p95 and max of the figures present (ms, rounded); undefined when there are none. */
export function spread(xs: (number | undefined)[]): { median: number; p95: number; max: number } | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  if (!v.length) return undefined;
  return {
    median: Math.round(percentile(v, 50)!),
    p95: Math.round(percentile(v, 95)!),
    max: Math.round(Math.max(...v)),
  };
}

/** "median / p95 / max", or "-" without figures: how tables show a spread. */
export function formatSpread(xs: (number | undefined)[]): string {
  const s = spread(xs);
  return s ? `${s.median} / ${s.p95} / ${s.max}` : '-';
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median (nearest rank, as everywhere), min and max of a benchmark's runs. */
export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  return { median: percentile(s, 50)!, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

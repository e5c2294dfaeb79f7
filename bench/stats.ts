// Small statistics for benchmarks: runs are printed side by side, as ratios, because
// absolute times on shared 2-core machines are noisy.
export { type Summary, summarize } from '../results/stats.ts';

import type { Summary } from '../results/stats.ts';

export const ms = (x: number) => `${x.toFixed(0)} ms`;
export const fmt = (s: Summary) => `median ${ms(s.median)}  min ${ms(s.min)}  max ${ms(s.max)}  (n=${s.n})`;

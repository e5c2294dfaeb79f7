// Small statistics for benchmarks: runs are printed side by side, as ratios, because
// absolute times on shared 2-core machines are noisy.
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

export const ms = (x: number) => `${x.toFixed(0)} ms`;
export const fmt = (s: Summary) => `median ${ms(s.median)}  min ${ms(s.min)}  max ${ms(s.max)}  (n=${s.n})`;

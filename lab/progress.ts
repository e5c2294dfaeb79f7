// Human output: progress on stderr while waiting (so stdout stays clean for --json).
import type { Progress } from './provider.ts';

const tty = process.stderr.isTTY && !process.env.CI;
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);

export function consoleProgress(label: string, quiet = false): Progress {
  const t0 = Date.now();
  const stamp = () => dim(`${((Date.now() - t0) / 1000).toFixed(2).padStart(6)}s`);
  return {
    step: (m) => {
      if (!quiet) process.stderr.write(`${stamp()} ${label} + ${m}\n`);
    },
    info: (m) => {
      if (!quiet) process.stderr.write(`${stamp()} ${label} ${m}\n`);
    },
  };
}

export const silentProgress: Progress = { step: () => {}, info: () => {} };

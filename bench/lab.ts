// lab:up / lab:down of the default lab, in-process and through the CLI, ≥5 runs each.

import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { derivedLabFile as labFile } from '../lab/derive.ts';
import { loadLab } from '../lab/labfile.ts';
import { silentProgress } from '../lab/progress.ts';
import { getProvider } from '../lab/providers/index.ts';
import { fmt, type Summary, summarize } from './stats.ts';

export async function benchLab(runs: number): Promise<Record<string, Summary>> {
  const file = labFile('lbench', 250); // the default lab under its own name, so a user's lab is untouched
  const lab = loadLab(file);
  const p = getProvider(lab.provider);
  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const cli = (...a: string[]) =>
    execa('node', ['scripts/run.mjs', 'lab', ...a, '--lab', file, '--quiet'], {
      cwd: new URL('..', import.meta.url).pathname,
    });
  await p.down(lab.name, silentProgress);
  const r: Record<string, number[]> = {
    'up (cold)': [],
    'up (nothing to change)': [],
    down: [],
    'CLI lab:up (cold)': [],
    'CLI lab:down': [],
  };
  try {
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`  lab run ${i + 1}/${runs}\r`);
      r['up (cold)']!.push(await time(() => p.up(lab, silentProgress)));
      r['up (nothing to change)']!.push(await time(() => p.up(lab, silentProgress)));
      r.down!.push(await time(() => p.down(lab.name, silentProgress)));
      r['CLI lab:up (cold)']!.push(await time(() => cli('up')));
      r['CLI lab:down']!.push(await time(() => cli('down')));
    }
  } finally {
    await p.down(lab.name, silentProgress);
  }
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, summarize(v)]));
}

export function printLab(s: Record<string, Summary>): void {
  console.log('\nlab (default lab: 4 nodes + client, netns provider)');
  for (const [k, v] of Object.entries(s)) console.log(`  ${k.padEnd(24)} ${fmt(v)}`);
  const up = s['CLI lab:up (cold)']!.median,
    down = s['CLI lab:down']!.median;
  console.log(
    `  ratios: CLI up / 5 s goal = ${(up / 5000).toFixed(2)}, CLI down / 2 s goal = ${(down / 2000).toFixed(2)}, ` +
      `idempotent up / cold up = ${(s['up (nothing to change)']!.median / s['up (cold)']!.median).toFixed(2)}, ` +
      `CLI start-up share of lab:up = ${((up - s['up (cold)']!.median) / up).toFixed(2)}`,
  );
}

// lab:up / lab:down of the default lab, in-process and through the CLI, ≥5 runs each; and of
// labs of 10 and 50 nodes, side by side, for the cost per node.

import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { derivedLabFile as labFile } from '../lab/derive.ts';
import { loadLab } from '../lab/labfile.ts';
import { labDown, labUp } from '../lab/lifecycle.ts';
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
  await labDown(lab.name, silentProgress, p);
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
      r['up (cold)']!.push(await time(() => labUp(lab, silentProgress, p)));
      r['up (nothing to change)']!.push(await time(() => labUp(lab, silentProgress, p)));
      r.down!.push(await time(() => labDown(lab.name, silentProgress, p)));
      r['CLI lab:up (cold)']!.push(await time(() => cli('up')));
      r['CLI lab:down']!.push(await time(() => cli('down')));
    }
  } finally {
    await labDown(lab.name, silentProgress, p);
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

/** The default lab with n nodes: the control plane and n - 1 workers over dc1 and dc2. */
function labOf(n: number): string {
  return labFile(`lsc${n}`, 200 + n, (d) => {
    const w = d.nodes[1];
    d.nodes = [
      d.nodes[0],
      ...Array.from({ length: n - 1 }, (_, i) => ({
        ...w,
        name: `node${String(i + 1).padStart(2, '0')}`,
        labels: { datacenter: i % 2 ? 'dc2' : 'dc1' },
      })),
    ];
  });
}

/** up (cold) and down of 10- and 50-node labs, alternating so that both see the same machine. */
export async function benchLabScale(runs: number): Promise<Record<string, Summary>> {
  const labs = [10, 50].map((n) => ({ n, lab: loadLab(labOf(n)) }));
  const p = getProvider('netns');
  const r: Record<string, number[]> = {};
  try {
    for (let i = 0; i < runs; i++)
      for (const { n, lab } of labs) {
        process.stderr.write(`  lab scale run ${i + 1}/${runs} (${n} nodes)\r`);
        await labDown(lab.name, silentProgress, p);
        let t = performance.now();
        await labUp(lab, silentProgress, p);
        (r[`up ${n} nodes`] ??= []).push(performance.now() - t);
        t = performance.now();
        await labDown(lab.name, silentProgress, p);
        (r[`down ${n} nodes`] ??= []).push(performance.now() - t);
      }
  } finally {
    for (const { lab } of labs) await labDown(lab.name, silentProgress, p);
  }
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, summarize(v)]));
}

export function printLabScale(s: Record<string, Summary>): void {
  console.log('\nlab scale (netns provider, control plane + workers, client)');
  for (const [k, v] of Object.entries(s)) console.log(`  ${k.padEnd(24)} ${fmt(v)}`);
  const u10 = s['up 10 nodes']!.median,
    u50 = s['up 50 nodes']!.median;
  console.log(
    `  ratios: up 50 nodes / 15 s goal = ${(u50 / 15000).toFixed(2)}, cost per node 50 vs 10 nodes = ` +
      `${(u50 / 50 / (u10 / 10)).toFixed(2)} (flat: ≈ 1), ` +
      `down per node 50 vs 10 = ${(s['down 50 nodes']!.median / 50 / (s['down 10 nodes']!.median / 10)).toFixed(2)}`,
  );
}

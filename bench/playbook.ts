// The 20-task playbook on 3 netns nodes: l2lab's engine and ansible-playbook (Debian's
// ansible, pipelining on) on the same file, first run and idempotent re-run, side by side.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { derivedLabFile as labFile } from '../lab/derive.ts';
import { loadLab } from '../lab/labfile.ts';
import { labDown, labUp } from '../lab/lifecycle.ts';
import { silentProgress } from '../lab/progress.ts';
import { getProvider } from '../lab/providers/index.ts';
import { inventoryFromStatus } from '../playbooks/inventory.ts';
import { loadPlaybook } from '../playbooks/playbook.ts';
import { runPlaybook } from '../playbooks/runner.ts';
import { fmt, type Summary, summarize } from './stats.ts';

const repo = new URL('..', import.meta.url).pathname;
const PLAYBOOK = join(repo, 'bench', 'playbook-20.yaml');

async function ensureAnsible(): Promise<boolean> {
  if ((await execa('sh', ['-c', 'command -v ansible-playbook'], { reject: false })).exitCode === 0) return true;
  process.stderr.write("bench: installing Debian's ansible package for the side-by-side run (once)...\n");
  const r = await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'ansible'], {
    reject: false,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.exitCode !== 0) {
    process.stderr.write(`bench: could not install ansible: ${r.stderr}\n`);
    return false;
  }
  return true;
}

export async function benchPlaybook(runs: number): Promise<{ rows: Record<string, Summary>; ansible: boolean }> {
  const file = labFile('lbench', 250);
  const lab = loadLab(file);
  const p = getProvider(lab.provider);
  await labDown(lab.name, silentProgress, p);
  await labUp(lab, silentProgress, p);
  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const rows: Record<string, number[]> = {};
  const add = (k: string, v: number) => (rows[k] ??= []).push(v);
  const reset = () =>
    Promise.all(['node01', 'node02', 'node03'].map((n) => p.exec(lab, n, ['rm', '-rf', '/var/lib/l2lab/bench'])));
  try {
    const status = await p.status(lab);
    const inv = inventoryFromStatus(status);
    const pb = loadPlaybook(PLAYBOOK);
    const silent = { write: () => {} };
    const l2lab = async () => {
      const r = await runPlaybook(pb, inv, { out: silent });
      if (!r.ok) throw new Error('l2lab playbook failed');
      return r;
    };
    const cli = () =>
      execa('node', ['scripts/run.mjs', 'playbook', PLAYBOOK, '--lab', file], { cwd: repo, env: { CI: 'true' } });

    const dir = mkdtempSync(join(tmpdir(), 'l2l-ansible-'));
    const hosts = status.nodes.filter((n) => n.role === 'worker');
    writeFileSync(
      join(dir, 'inventory.ini'),
      `[workers]\n${hosts.map((n) => `${n.name} ansible_host=${n.ssh!.host}`).join('\n')}\n\n[all:vars]\nansible_user=root\n` +
        `ansible_ssh_private_key_file=${status.ssh.identityFile}\nansible_python_interpreter=/usr/bin/python3\n` +
        `ansible_ssh_common_args='-o UserKnownHostsFile=${status.ssh.knownHostsFile} -o StrictHostKeyChecking=yes'\n`,
    );
    writeFileSync(
      join(dir, 'ansible.cfg'),
      '[defaults]\nhost_key_checking = True\nforks = 10\nretry_files_enabled = False\n[ssh_connection]\npipelining = True\n',
    );
    const haveAnsible = await ensureAnsible();
    const ansible = () =>
      execa('ansible-playbook', ['-i', join(dir, 'inventory.ini'), PLAYBOOK], {
        cwd: dir,
        env: { ANSIBLE_CONFIG: join(dir, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1' },
      });

    for (let i = 0; i < runs; i++) {
      process.stderr.write(`  playbook run ${i + 1}/${runs}\r`);
      await reset();
      add('l2lab first run', await time(l2lab));
      add('l2lab re-run', await time(l2lab));
      add('l2lab CLI re-run', await time(cli));
      if (haveAnsible) {
        await reset();
        add('ansible first run', await time(ansible));
        add('ansible re-run', await time(ansible));
      }
    }
    if (haveAnsible) {
      const out = (await ansible()).stdout;
      if (!/changed=0/.test(out) || /changed=[1-9]/.test(out))
        process.stderr.write(`bench: warning, ansible's re-run was not idempotent:\n${out}\n`);
    }
    return { rows: Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, summarize(v)])), ansible: haveAnsible };
  } finally {
    await labDown(lab.name, silentProgress, p);
  }
}

export function printPlaybook(r: { rows: Record<string, Summary>; ansible: boolean }): void {
  console.log('\nplaybook (20 file/copy/lineinfile/command tasks, 3 netns nodes)');
  for (const [k, v] of Object.entries(r.rows)) console.log(`  ${k.padEnd(24)} ${fmt(v)}`);
  if (!r.ansible) {
    console.log('  ansible-playbook not available: no ratio');
    return;
  }
  const a = r.rows['ansible re-run']!.median;
  console.log(
    `  ratios: ansible re-run / l2lab re-run = ${(a / r.rows['l2lab re-run']!.median).toFixed(1)}x (in-process), ` +
      `${(a / r.rows['l2lab CLI re-run']!.median).toFixed(1)}x (CLI, with Node start-up); goal ≥ 10x; ` +
      `ansible first / l2lab first = ${(r.rows['ansible first run']!.median / r.rows['l2lab first run']!.median).toFixed(1)}x`,
  );
}

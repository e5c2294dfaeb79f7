// What a VM needs to run l2lab's own programs (agent, prober, test backend): this host's Node
// binary and the built bundles with their runtime packages, at the same path as on the host, so
// subjects, playbooks and the suite use one command line on every provider. The netns lab sees
// the host's files directly; VMs get this tarball (content-addressed: copied only when it changed).

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { VAGRANT_HOME } from './box.ts';
import { repoRoot } from './paths.ts';

/** Packages only the build and the tests use: not needed to run bundles. */
const DEV_ONLY = ['typescript', 'esbuild', '@esbuild', 'tsx', 'ava', '@ava', '@types'];

export interface Runtime {
  id: string;
  tar: string;
  node: string;
  nodeVersion: string;
  root: string;
}

export async function runtimeBundle(): Promise<Runtime> {
  const dist = join(repoRoot, 'dist');
  if (!existsSync(dist))
    throw new Error(`no bundles in ${dist}; run \`node scripts/run.mjs build\` (npm run setup does)`);
  const h = createHash('sha256')
    .update(process.version)
    .update(readFileSync(join(repoRoot, 'package-lock.json')));
  for (const f of readdirSync(dist)
    .filter((f) => f.endsWith('.mjs'))
    .sort())
    h.update(f).update(readFileSync(join(dist, f)));
  h.update(readFileSync(join(repoRoot, 'scripts', 'run.mjs')));
  const id = h.digest('hex').slice(0, 16);
  const dir = join(VAGRANT_HOME, 'l2lab-runtime');
  const tar = join(dir, `${id}.tar`);
  if (!existsSync(tar)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${tar}.${process.pid}.tmp`;
    await execa('tar', [
      '-cf',
      tmp,
      '-C',
      repoRoot,
      ...DEV_ONLY.map((p) => `--exclude=node_modules/${p}`),
      '--exclude=*.tmp',
      'package.json',
      'scripts/run.mjs',
      'dist',
      'node_modules',
    ]);
    renameSync(tmp, tar);
  }
  return { id, tar, node: process.execPath, nodeVersion: process.version, root: repoRoot };
}

// What a VM needs to run l2lab's own programs (agent, prober, test backend): this host's Node
// binary and the built bundles with their runtime packages, at the same path as on the host, so
// subjects, playbooks and the suite use one command line on every provider. The netns lab sees
// the host's files directly; VMs get this tarball (content-addressed: copied only when it changed).

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { VAGRANT_HOME } from './box.ts';
import { repoRoot } from './paths.ts';

/** Production packages the bundles never load at run time (the build's and the nightly script's). */
const BUILD_ONLY = ['esbuild', '@esbuild', 'tsx'];

/**
 * The top-level packages the bundles may load: npm's own production tree (no devDependencies:
 * the linter, the test runner, the browser driver, the type checker — half of node_modules).
 */
async function runtimePackages(): Promise<string[]> {
  const r = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repoRoot, reject: false });
  const dirs = r.stdout
    .split('\n')
    .map((l) => relative(repoRoot, l.trim()))
    // top level only (a nested node_modules goes with its package), scoped packages by their scope
    .filter((d) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(d))
    .filter((d) => !BUILD_ONLY.some((b) => d === `node_modules/${b}` || d.startsWith(`node_modules/${b}/`)));
  if (!dirs.length)
    throw new Error(`npm ls --omit=dev found no packages in ${repoRoot} (exit ${r.exitCode}): run npm ci`);
  return [...new Set(dirs)].sort();
}

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
  h.update(readFileSync(join(repoRoot, 'scripts', 'run.mjs'))).update('production packages only');
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
      '--exclude=*.tmp',
      'package.json',
      'scripts/run.mjs',
      'dist',
      ...(await runtimePackages()),
    ]);
    renameSync(tmp, tar);
    // Earlier runtimes are never used again (a lab:up copies the current one): 100+ MB each.
    for (const f of readdirSync(dir))
      if (f.endsWith('.tar') && f !== `${id}.tar`) rmSync(join(dir, f), { force: true });
  }
  return { id, tar, node: process.execPath, nodeVersion: process.version, root: repoRoot };
}

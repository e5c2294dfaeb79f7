// What a machine needs to run l2lab's own programs (agent, prober, test backend): this host's Node
// binary, those programs' bundles and the packages they load. The netns lab sees the host's files
// directly; VMs get this tarball at the checkout's path (subjects, playbooks and the suite use one
// command line on every provider), machines l2lab did not build under l2lab's own directory there.
// Content-addressed: copied only when it changed.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './paths.ts';

/** Where runtime tarballs are kept between labs (one: the current). */
const RUNTIME_CACHE = '/var/cache/l2l-runtime';

/** The bundles lab machines run (scripts/run.mjs entries): the rest runs on this host only. */
export const MACHINE_PROGRAMS = ['agent', 'probe', 'backend'] as const;

/** The packages an esbuild bundle (packages external) imports, by name (`@scope/name` or `name`). */
export function bareImports(code: string): string[] {
  const names = new Set<string>();
  // statements at the start of a line (esbuild's output), and dynamic imports anywhere
  const statements = /^import\s*(?:[^;]*?\sfrom\s*)?["']([^"']+)["']/gm;
  const dynamic = /(?<![\w$.])import\(\s*["']([^"']+)["']\s*\)/g;
  for (const m of [...code.matchAll(statements), ...code.matchAll(dynamic)]) {
    const spec = m[1]!;
    if (spec.startsWith('node:') || spec.startsWith('.') || spec.startsWith('/')) continue;
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return [...names].sort();
}

/**
 * The top-level node_modules entries that hold `names` and everything they depend on, resolved as
 * Node does (a package's own nested node_modules first, then its parents'). A nested node_modules
 * travels with its package; a package missing from the tree is an error naming it (run npm ci).
 */
export function packageClosure(root: string, names: string[]): string[] {
  const seen = new Set<string>();
  const resolve = (from: string, name: string): string | undefined => {
    for (let d = from; ; d = dirname(d)) {
      const p = join(d, 'node_modules', name);
      if (existsSync(join(p, 'package.json'))) return p;
      if (d === root || d === dirname(d)) return undefined;
    }
  };
  const walk = (dir: string) => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    // optional ones only where installed (another platform's binaries are not)
    for (const n of Object.keys(pkg.dependencies ?? {})) {
      const r = resolve(dir, n);
      if (!r) throw new Error(`${relative(root, dir)} depends on ${n}, which is not installed in ${root}: run npm ci`);
      walk(r);
    }
    for (const n of Object.keys(pkg.optionalDependencies ?? {})) {
      const r = resolve(dir, n);
      if (r) walk(r);
    }
  };
  for (const n of names) {
    const r = resolve(root, n);
    if (!r) throw new Error(`a bundle imports ${n}, which is not installed in ${root}: run npm ci`);
    walk(r);
  }
  return [
    ...new Set(
      [...seen].map((d) => /^node_modules\/(?:@[^/]+\/)?[^/]+/.exec(relative(root, d).split('\\').join('/'))![0]),
    ),
  ].sort();
}

/**
 * What no program loads at run time: type declarations, TypeScript sources, source maps, docs. Half
 * of the packages' files (3411 → 1693, 23 → 8.4 MB), each one copied and unpacked by an emulated CPU.
 */
const NOT_RUN = ['*.ts', '*.cts', '*.mts', '*.map', '*.md'];

export interface Runtime {
  id: string;
  tar: string;
  node: string;
  nodeVersion: string;
  root: string;
}

/** The machines' programs as bundles in dist/, or an error saying how to build them. */
export function assertBundles(): string[] {
  const bundles = MACHINE_PROGRAMS.map((p) => `dist/${p}.mjs`);
  const missing = bundles.filter((b) => !existsSync(join(repoRoot, b)));
  if (missing.length)
    throw new Error(
      `no bundle ${missing.join(', ')} in ${repoRoot}; run \`node scripts/run.mjs build\` (npm run setup does)`,
    );
  return bundles;
}

/** What the runtime tarball holds (paths under the checkout) and the patterns it leaves out. */
export function runtimeFiles(): { files: string[]; exclude: string[]; code: string[] } {
  const bundles = assertBundles();
  const code = bundles.map((b) => readFileSync(join(repoRoot, b), 'utf8'));
  const files = [
    'package.json',
    'scripts/run.mjs',
    ...bundles,
    ...packageClosure(repoRoot, bareImports(code.join('\n'))),
  ];
  return { files, exclude: ['*.tmp', ...NOT_RUN], code };
}

/** Packs the runtime's files, without what it leaves out, into a tarball (lab:up, and its test). */
export async function packRuntime(tar: string, r: { files: string[]; exclude: string[] }): Promise<void> {
  await execa('tar', ['-cf', tar, '-C', repoRoot, ...r.exclude.map((x) => `--exclude=${x}`), ...r.files]);
}

export async function runtimeBundle(): Promise<Runtime> {
  const { files, exclude, code } = runtimeFiles();
  // Named by what it holds: Node's version, the lock file, the list of files and the bundles' code.
  const h = createHash('sha256')
    .update(process.version)
    .update(readFileSync(join(repoRoot, 'package-lock.json')))
    .update(readFileSync(join(repoRoot, 'scripts', 'run.mjs')))
    .update(files.join('\n'))
    .update(exclude.join('\n'));
  for (const c of code) h.update(c);
  const id = h.digest('hex').slice(0, 16);
  const dir = RUNTIME_CACHE;
  const tar = join(dir, `${id}.tar`);
  if (!existsSync(tar)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${tar}.${process.pid}.tmp`;
    await packRuntime(tmp, { files, exclude });
    renameSync(tmp, tar);
    // Earlier runtimes are never used again (a lab:up copies the current one).
    for (const f of readdirSync(dir))
      if (f.endsWith('.tar') && f !== `${id}.tar`) rmSync(join(dir, f), { force: true });
  }
  return { id, tar, node: process.execPath, nodeVersion: process.version, root: repoRoot };
}

#!/usr/bin/env node
// Runs one of l2lab's command lines from its bundle in dist/ (plain JavaScript: starts in a
// quarter of the time tsx needs), rebuilding the bundle first when any source is newer.
//   node scripts/run.mjs lab|playbook [ARGS...]
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = {
  lab: 'lab/cli.ts',
  playbook: 'playbooks/cli.ts',
  agent: 'agent/main.ts',
  probe: 'conformance/prober-process.ts',
  conformance: 'conformance/cli.ts',
  backend: 'agent/backend-main.ts',
  cluster: 'playbooks/cluster/cli.ts',
  box: 'lab/providers/vagrant/box.ts',
  report: 'reports/cli.ts',
};
const [name, ...args] = process.argv.slice(2);
if (!(name in entries) && name !== 'build') {
  console.error(
    `usage: node scripts/run.mjs ${Object.keys(entries).join('|')} [ARGS...]   (or: build — every bundle, now)`,
  );
  process.exit(2);
}

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const sources = Math.max(
  ...['lab', 'playbooks', 'agent', 'conformance', 'reports', 'results', 'campaign']
    .map((d) => join(root, d))
    .filter(existsSync)
    .map(newestSource),
);

async function ensureBuilt(entry) {
  const out = join(root, 'dist', `${entry}.mjs`);
  if (existsSync(out) && statSync(out).mtimeMs >= sources) return out;
  const { build } = await import('esbuild');
  mkdirSync(join(root, 'dist'), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`; // concurrent runs each build, then rename: never a half-written bundle
  await build({
    entryPoints: [join(root, entries[entry])],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    sourcemap: 'inline',
  });
  renameSync(tmp, out);
  return out;
}

if (name === 'build') {
  for (const e of Object.keys(entries)) await ensureBuilt(e);
} else {
  const out = await ensureBuilt(name);
  process.argv = [process.argv[0], out, ...args];
  await import(pathToFileURL(out).href);
}

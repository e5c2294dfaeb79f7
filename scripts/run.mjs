#!/usr/bin/env node
// Runs one of l2lab's programs from its bundle in dist/ (plain JavaScript: starts in a quarter
// of the time tsx needs), rebuilding the bundle first when any source is newer.
//   node scripts/run.mjs l2lab|agent|probe|backend [ARGS...]
// l2lab is the command line (bin/l2lab.mjs); agent, probe and backend run on lab machines. The old
// names (lab, playbook, conformance, cluster, box, report) are l2lab's verbs: `run.mjs lab up` is
// `l2lab lab up`.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = {
  l2lab: 'cli/l2lab.ts',
  agent: 'agent/main.ts',
  probe: 'conformance/prober-process.ts',
  backend: 'agent/backend-main.ts',
};
const verbs = {
  lab: ['lab'],
  playbook: ['playbook'],
  conformance: ['test'],
  cluster: ['cluster'],
  box: ['box'],
  report: ['report'],
};
let [name, ...args] = process.argv.slice(2);
if (name in verbs) {
  args = [...verbs[name], ...args];
  name = 'l2lab';
}
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
  ...['cli', 'lab', 'playbooks', 'agent', 'conformance', 'reports', 'results', 'campaign']
    .map((d) => join(root, d))
    .filter(existsSync)
    .map(newestSource),
);

/** Chunks no entry reaches any more and older than ten minutes (a process may still load them). */
function pruneChunks() {
  const dist = join(root, 'dist');
  const chunks = join(dist, 'chunks');
  if (!existsSync(chunks)) return;
  const reached = new Set();
  const visit = (file) => {
    // Only quoted import paths: an unanchored name pattern backtracks through every long run of
    // letters in the inline source maps (23 s for one build, measured; 0.2 s is esbuild's).
    for (const m of readFileSync(file, 'utf8').matchAll(/"\.\/(?:chunks\/)?([A-Za-z0-9_]+-[A-Z0-9]{8}\.mjs)"/g))
      if (!reached.has(m[1])) {
        reached.add(m[1]);
        if (existsSync(join(chunks, m[1]))) visit(join(chunks, m[1]));
      }
  };
  for (const e of readdirSync(dist)) if (e.endsWith('.mjs')) visit(join(dist, e));
  for (const c of readdirSync(chunks))
    if (!reached.has(c) && Date.now() - statSync(join(chunks, c)).mtimeMs > 600_000)
      rmSync(join(chunks, c), { force: true });
}

async function ensureBuilt(entry) {
  const out = join(root, 'dist', `${entry}.mjs`);
  if (existsSync(out) && statSync(out).mtimeMs >= sources) return out;
  const { build } = await import('esbuild');
  mkdirSync(join(root, 'dist'), { recursive: true });
  // Concurrent runs each build, then rename: never a half-written bundle. The command line is
  // split into chunks named by their content (each verb loads only its own code and packages);
  // the programs lab machines run stay one file each.
  const tmpName = `${entry}.${process.pid}.tmp`;
  const split = entry === 'l2lab';
  await build({
    entryPoints: { [tmpName]: join(root, entries[entry]) },
    outdir: join(root, 'dist'),
    outExtension: { '.js': '.mjs' },
    ...(split ? { splitting: true, chunkNames: 'chunks/[name]-[hash]' } : {}),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // The command line loads its packages from node_modules; the programs lab machines run carry
    // theirs inside (one file to read: an emulated CPU pays for every file it opens), all but
    // pcap, a native addon. (CommonJS packages inside an ES module need a require.)
    ...(split
      ? { packages: 'external' }
      : {
          external: ['pcap'],
          sourcesContent: false, // file:line without the sources: 20 % of the agent's start, measured
          banner: {
            js: "import { createRequire as l2lRequire } from 'node:module'; const require = l2lRequire(import.meta.url);",
          },
        }),
    logLevel: 'warning',
    sourcemap: 'inline',
  });
  renameSync(join(root, 'dist', `${tmpName}.mjs`), out);
  if (split) pruneChunks();
  return out;
}

if (name === 'build') {
  for (const e of Object.keys(entries)) await ensureBuilt(e);
} else {
  const out = await ensureBuilt(name);
  process.argv = [process.argv[0], out, ...args];
  await import(pathToFileURL(out).href);
}

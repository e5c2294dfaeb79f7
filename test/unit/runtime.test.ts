import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { bareImports, MACHINE_PROGRAMS, packageClosure, packRuntime, runtimeFiles } from '../../lab/runtime.ts';
import { repo } from '../helpers.ts';

test("a bundle's imports: statements and dynamic imports, by package; built-ins, paths and look-alikes are not", (t) => {
  const code = [
    'import { a, b } from "etcd3";',
    'import {',
    '  c,',
    '  d',
    '} from "@grpc/grpc-js/build/src";',
    'import "side-effect";',
    "import x from 'yaml';",
    'import { readFileSync } from "node:fs";',
    'import { y } from "./local.js";',
    'const lazy = await import("pcap");',
    'const mac = Buffer.from("ffffffffffff", "hex");',
    'obj.import("not-a-module");',
    'const s = "import nothing from here";',
  ].join('\n');
  t.deepEqual(bareImports(code), ['@grpc/grpc-js', 'etcd3', 'pcap', 'side-effect', 'yaml']);
});

test('the packages a machine needs: resolved as Node does, a nested copy travels with its package, nothing else', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'l2l-closure-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const pkg = (dir: string, name: string, deps: Record<string, string> = {}, optional: Record<string, string> = {}) => {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(
      join(root, dir, 'package.json'),
      JSON.stringify({ name, dependencies: deps, optionalDependencies: optional }),
    );
  };
  pkg('node_modules/a', 'a', { b: '2' }, { 'other-platform': '1' }); // the optional one is not installed
  pkg('node_modules/a/node_modules/b', 'b', { d: '1' }); // a's own b@2 …
  pkg('node_modules/b', 'b'); // … so the top-level b@1 is not needed
  pkg('node_modules/d', 'd');
  pkg('node_modules/@s/e', '@s/e', { d: '1' });
  pkg('node_modules/unused', 'unused');
  t.deepEqual(packageClosure(root, ['a']), ['node_modules/a', 'node_modules/d']);
  t.deepEqual(packageClosure(root, ['@s/e', 'a']), ['node_modules/@s/e', 'node_modules/a', 'node_modules/d']);
  pkg('node_modules/d', 'd', { gone: '1' });
  t.throws(() => packageClosure(root, ['a']), {
    message: /node_modules\/d depends on gone, which is not installed.*npm ci/,
  });
  t.throws(() => packageClosure(root, ['nothere']), { message: /imports nothere, which is not installed/ });
});

test("the VMs' runtime from this checkout: every package the machine programs import, pcap's native binding, no tool", async (t) => {
  await execa('node', [join(repo, 'scripts', 'run.mjs'), 'build']);
  const code = MACHINE_PROGRAMS.map((p) => readFileSync(join(repo, 'dist', `${p}.mjs`), 'utf8')).join('\n');
  const imports = bareImports(code);
  // everything else is inside the bundles (scripts/run.mjs): one file each to read on a VM
  t.deepEqual(imports, ['pcap']);
  const dirs = packageClosure(repo, imports);
  for (const i of imports) t.true(dirs.includes(`node_modules/${i}`), i);
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const dev = dirs.filter((d) => lock.packages[d]?.dev);
  t.deepEqual(dev, [], 'no devDependency (test runner, linter, type checker)');
  for (const tool of ['node_modules/esbuild', 'node_modules/tsx', 'node_modules/better-sqlite3'])
    t.false(dirs.includes(tool), `${tool} runs on this host only`);
  const binding = await execa('find', [join(repo, 'node_modules', 'pcap'), '-name', '*.node']);
  t.truthy(binding.stdout.trim(), "pcap's native binding is inside its folder");
});

test("the VMs' runtime leaves out what nothing loads, and every package the programs import still loads from it", async (t) => {
  await execa('node', [join(repo, 'scripts', 'run.mjs'), 'build']);
  const runtime = runtimeFiles();
  const dir = mkdtempSync(join(tmpdir(), 'l2l-runtime-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tar = join(dir, 'runtime.tar');
  await packRuntime(tar, runtime);
  const listed = (await execa('tar', ['-tf', tar])).stdout.split('\n');
  t.deepEqual(
    listed.filter((f) => /\.(ts|map|md)$/.test(f)),
    [],
    'no type declarations, sources, maps or docs',
  );
  await execa('tar', ['-xf', tar, '-C', dir]);
  const imports = bareImports(runtime.code.join('\n'));
  const load = await execa(
    'node',
    ['--input-type=module', '-e', `for (const n of ${JSON.stringify(imports)}) await import(n);`],
    { cwd: dir, reject: false },
  );
  t.is(load.exitCode, 0, load.stderr);
});

// Where the project's own files are, also when running from a bundle in dist/.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'l2lab') return d;
  }
  throw new Error('cannot find the l2lab checkout (package.json named l2lab) above this file');
}

export const repoRoot = findRoot();

/** A path a lab file gives: ~ is the home directory, a relative path is the lab file's directory's. */
export function expandHome(p: string, labDir: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(labDir, p);
}
export const nodeFilesDir = join(repoRoot, 'lab', 'node');
export const playbooksDir = join(repoRoot, 'playbooks');

/**
 * Where run data goes — run folders, the history, nights, comparisons: one directory outside the
 * source tree, so `git clean` or a new checkout never takes a user's history. `--data DIR` (which
 * sets L2LAB_DATA), else $XDG_DATA_HOME/l2lab, else ~/.local/share/l2lab.
 */
export function dataDir(given?: string): string {
  const home = process.env.HOME ?? '/root';
  const dir = resolve(
    given || process.env.L2LAB_DATA || join(process.env.XDG_DATA_HOME || join(home, '.local', 'share'), 'l2lab'),
  );
  const rel = relative(repoRoot, dir);
  if (!rel || (!rel.startsWith('..') && !isAbsolute(rel)))
    throw new DataDirError(
      `the data directory ${dir} lies inside the l2lab checkout ${repoRoot}: run data never goes next to the code; give --data ` +
        '(or L2LAB_DATA) a folder outside it',
    );
  return dir;
}

/** A data directory that cannot be used: bad input. */
export class DataDirError extends Error {}

/** The folders of the data directory. */
export const dataPaths = () => {
  const d = dataDir();
  return {
    runs: join(d, 'runs'),
    history: join(d, 'history.sqlite'),
    nightly: join(d, 'nightly'),
    comparisons: join(d, 'comparisons'),
  };
};

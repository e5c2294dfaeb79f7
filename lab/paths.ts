// Where the project's own files are, also when running from a bundle in dist/.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  for (let d = dirname(fileURLToPath(import.meta.url)); d !== dirname(d); d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'l2lab') return d;
  }
  throw new Error('cannot find the l2lab checkout (package.json named l2lab) above this file');
}

export const repoRoot = findRoot();
export const nodeFilesDir = join(repoRoot, 'lab', 'node');
export const playbooksDir = join(repoRoot, 'playbooks');

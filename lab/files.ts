// Files l2lab keeps on this host: read if there, written whole (a reader never sees half a file).
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export function readIf(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function writeAtomic(path: string, content: string, mode: number): void {
  const tmp = `${path}.l2l-tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

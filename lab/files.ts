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

/** Running, as opposed to gone or a zombie (this host's PID 1 may reap late). */
export function alive(pid: number): boolean {
  const stat = readIf(`/proc/${pid}/stat`);
  if (!stat) return false;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

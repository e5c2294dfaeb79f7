// Finding the lab a command is about: a lab file (default lab.yaml), or the state of a lab
// that is up (--name), so that down/status/ssh work even when the file has moved.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadLab } from './labfile.ts';
import { labJsonFile, withObserved } from './state.ts';
import type { Lab } from './types.ts';
import { UsageError } from './validation.ts';

export const DEFAULT_LAB_FILE = 'lab.yaml';

export function findLab(opts: { lab?: string; name?: string }): Lab {
  if (opts.lab && opts.name) throw new UsageError('give --lab FILE or --name NAME, not both');
  if (opts.name) {
    const file = labJsonFile(opts.name);
    if (!existsSync(file))
      throw new UsageError(
        `no lab named "${opts.name}" is up on this host (no ${file}); pass its lab file with --lab FILE`,
      );
    return JSON.parse(readFileSync(file, 'utf8')) as Lab;
  }
  return withObserved(loadLab(resolve(opts.lab ?? DEFAULT_LAB_FILE)));
}

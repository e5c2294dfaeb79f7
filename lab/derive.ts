// A lab file derived from another: its own name and management subnet (so that labs can run
// side by side with a user's lab), plus any edit. Benchmarks and tests build their labs this way.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot } from './paths.ts';

// biome-ignore lint/suspicious/noExplicitAny: a lab file's raw YAML, edited freely before validation
export type RawLabFile = any;

export function derivedLabFile(
  name: string,
  mgmtThirdOctet: number,
  edit: (doc: RawLabFile) => void = () => {},
  base = 'lab.yaml',
): string {
  const doc = parse(readFileSync(join(repoRoot, base), 'utf8'));
  doc.name = name;
  doc.management = { ipv4: `198.19.${mgmtThirdOctet}.0/24` };
  edit(doc);
  const dir = mkdtempSync(join(tmpdir(), 'l2l-lab-'));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  // The file lives as long as the process that derived it (a benchmark, a test file): no /tmp litter.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return file;
}

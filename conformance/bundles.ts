// The suite runs bundles on lab machines (the prober, the agent, the backend): built before a
// run, so that none compiles itself on its first start and misses the fault's start.

import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../lab/paths.ts';

export async function buildBundles(): Promise<void> {
  await execa('node', [join(repoRoot, 'scripts', 'run.mjs'), 'build']);
}

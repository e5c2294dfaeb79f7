// l2lab playbook NAME|FILE (npm run playbook --): a playbook against the lab or an inventory file.
import { findLab } from '../../lab/find-lab.ts';
import { getProvider } from '../../lab/providers/index.ts';
import { UsageError } from '../../lab/validation.ts';
import { parseExtraVars } from '../../playbooks/extra-vars.ts';
import { type Inventory, inventoryFromFile, inventoryFromStatus } from '../../playbooks/inventory.ts';
import { findPlaybook, loadPlaybook } from '../../playbooks/playbook.ts';
import { runPlaybook } from '../../playbooks/runner.ts';
import type { ExitCode } from '../exit.ts';
import { playExit, playOut } from '../play.ts';

export interface PlaybookOptions {
  lab?: string;
  name?: string;
  inventory?: string;
  limit?: string;
  tags?: string;
  skipTags?: string;
  check?: boolean;
  diff?: boolean;
  json?: boolean;
  quiet?: boolean;
  forks?: string;
  extraVars?: string[];
}

async function inventoryFor(o: PlaybookOptions): Promise<Inventory> {
  if (o.inventory) {
    if (o.lab || o.name) throw new UsageError('give --inventory FILE or a lab (--lab/--name), not both');
    return inventoryFromFile(o.inventory);
  }
  const lab = findLab(o);
  const status = await getProvider(lab.provider).status(lab, { probe: false }); // unreachable hosts show up as such in the run
  if (status.state === 'down')
    throw new UsageError(`lab ${lab.name} is down; run l2lab lab up${o.lab ? ` --lab ${o.lab}` : ''} first`);
  return inventoryFromStatus(status);
}

export async function playbookCommand(name: string, o: PlaybookOptions): Promise<ExitCode> {
  const forks = o.forks === undefined ? undefined : Number(o.forks);
  if (forks !== undefined && (!Number.isInteger(forks) || forks < 1))
    throw new UsageError(`--forks must be a whole number ≥ 1, not "${o.forks}"`);
  const extraVars = parseExtraVars(o.extraVars);
  const pb = loadPlaybook(findPlaybook(name));
  const inv = await inventoryFor(o);
  const split = (s?: string) =>
    s
      ?.split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const out = playOut(o);
  const report = await runPlaybook(pb, inv, {
    check: o.check,
    diff: o.diff,
    limit: o.limit,
    tags: split(o.tags),
    skipTags: split(o.skipTags),
    forks,
    extraVars,
    ...(out ? { out } : {}),
  });
  if (o.json) console.log(JSON.stringify(report, null, 2));
  return playExit(report.recap);
}

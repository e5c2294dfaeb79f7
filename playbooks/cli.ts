// npm run playbook -- NAME [options]: runs a playbook against the lab (or an inventory file).

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findLab } from '../lab/find-lab.ts';
import { LabFileError } from '../lab/labfile.ts';
import { getProvider } from '../lab/providers/index.ts';
import { UsageError } from '../lab/validation.ts';
import { parseExtraVars } from './extra-vars.ts';
import { type Inventory, InventoryError, inventoryFromFile, inventoryFromStatus } from './inventory.ts';
import { findPlaybook, loadPlaybook, PlaybookError } from './playbook.ts';
import { runPlaybook } from './runner.ts';

const USAGE =
  `usage: npm run playbook -- NAME|FILE [--lab FILE | --name LAB | --inventory FILE] [--limit HOSTS] [--tags T,…] ` +
  `[--skip-tags T,…]
                            [--check] [--diff] [--json FILE] [--forks N] [-e KEY=VALUE …]`;

export async function inventoryFor(values: { lab?: string; name?: string; inventory?: string }): Promise<Inventory> {
  if (values.inventory) {
    if (values.lab || values.name) throw new UsageError('give --inventory FILE or a lab (--lab/--name), not both');
    return inventoryFromFile(values.inventory);
  }
  const lab = findLab(values);
  const status = await getProvider(lab.provider).status(lab, { probe: false }); // unreachable hosts show up as such in the run
  if (status.state === 'down')
    throw new Error(`lab ${lab.name} is down; run npm run lab:up${values.lab ? ` -- --lab ${values.lab}` : ''} first`);
  return inventoryFromStatus(status);
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        lab: { type: 'string', short: 'l' },
        name: { type: 'string' },
        inventory: { type: 'string', short: 'i' },
        limit: { type: 'string' },
        tags: { type: 'string', short: 't' },
        'skip-tags': { type: 'string' },
        check: { type: 'boolean', short: 'C' },
        diff: { type: 'boolean', short: 'D' },
        json: { type: 'string' },
        forks: { type: 'string', short: 'f' },
        'extra-vars': { type: 'string', short: 'e', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`give one playbook name or file\n${USAGE}`);
  const forks = values.forks === undefined ? undefined : Number(values.forks);
  if (forks !== undefined && (!Number.isInteger(forks) || forks < 1))
    throw new UsageError(`--forks must be a whole number ≥ 1, not "${values.forks}"`);
  const extraVars = parseExtraVars(values['extra-vars']);
  const pb = loadPlaybook(findPlaybook(positionals[0]!));
  const inv = await inventoryFor(values);
  const split = (s?: string) =>
    s
      ?.split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const report = await runPlaybook(pb, inv, {
    check: values.check,
    diff: values.diff,
    limit: values.limit,
    tags: split(values.tags),
    skipTags: split(values['skip-tags']),
    forks,
    extraVars,
  });
  if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  if (report.recap.some((r) => r.failed)) return 1;
  return report.recap.some((r) => r.unreachable) ? 4 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const bad =
      e instanceof UsageError || e instanceof PlaybookError || e instanceof LabFileError || e instanceof InventoryError;
    console.error(`error: ${(e as Error).message}`);
    process.exit(bad ? 2 : 1);
  },
);

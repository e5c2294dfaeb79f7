// -e KEY=VALUE (as ansible-playbook): the value is YAML, so numbers, booleans and lists keep their type.
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../lab/validation.ts';

export function parseExtraVars(pairs: string[] | undefined): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const kv of pairs ?? []) {
    const i = kv.indexOf('=');
    if (i < 1) throw new UsageError(`-e takes KEY=VALUE, not "${kv}"`);
    vars[kv.slice(0, i)] = parseYaml(kv.slice(i + 1));
  }
  return vars;
}

// lab:up | lab:down | lab:status | lab:ssh | lab:fault — the lab's command line.

import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import {
  describeFault,
  FaultError,
  faultPlugin,
  faultPlugins,
  injectFault,
  MissingPrimitive,
  undoFault,
} from './faults/index.ts';
import { findLab } from './find-lab.ts';
import { LabFileError } from './labfile.ts';
import { labDown, labUp } from './lifecycle.ts';
import { consoleProgress } from './progress.ts';
import { getProvider } from './providers/index.ts';
import { vagrantSpec, writeVagrantSpec } from './providers/vagrant/spec.ts';
import { opensshArgs } from './ssh.ts';
import { table } from './table.ts';
import type { Fault, LabStatus } from './types.ts';
import { MANAGEMENT_INTERFACE, SWITCH_INTERFACE } from './types.ts';
import { UsageError } from './validation.ts';

const common = {
  lab: { type: 'string', short: 'l' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

const usage: Record<string, string> = {
  up: 'lab:up [--lab FILE] [--quiet] [--json]     build or repair the lab (default lab file: lab.yaml)',
  down: 'lab:down [--lab FILE | --name NAME]        remove everything of the lab, also after a crash',
  status: 'lab:status [--lab FILE | --name NAME] [--json]',
  ssh: 'lab:ssh NODE [--lab FILE | --name NAME] [-- CMD ...]',
  spec: 'lab:spec [--lab FILE] [--out FILE]        the VM spec the Vagrantfile reads (JSON; stdout without --out)',
  fault:
    'lab:fault inject|undo|list [KIND NODE [WORD…]] [--OPTION VALUE] [--lab FILE | --name NAME]\n        kinds:\n' +
    faultPlugins
      .map(
        (f) =>
          `          ${[
            f.kind,
            f.scope === 'switch' ? 'switch|DOMAIN' : 'NODE',
            ...f.args.map((a) => a.name.toUpperCase()),
            ...(f.options ?? []).map((o) => `[--${o.name} ${o.name.toUpperCase()}]`),
          ].join(' ')}  ${f.description}`,
      )
      .join('\n'),
};

function parse(cmd: string, argv: string[], extra: Record<string, { type: 'string' | 'boolean' }> = {}) {
  try {
    return parseArgs({ args: argv, options: { ...common, ...extra }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\nusage: npm run ${usage[cmd]}`);
  }
}

function printStatus(s: LabStatus): void {
  const rows = [['NAME', 'ROLE', 'LABELS', 'POWER', 'SSHD', 'ETH1 MAC', 'ETH1 IPv4', 'ETH1 IPv6', 'ETH0 IPv4']];
  for (const h of [...s.nodes, s.client]) {
    const e1 = h.interfaces.find((i) => i.name === SWITCH_INTERFACE);
    const e0 = h.interfaces.find((i) => i.name === MANAGEMENT_INTERFACE);
    rows.push([
      h.name,
      h.role,
      Object.entries(h.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
      h.powered ? 'on' : 'off',
      h.role === 'client' && !h.ssh ? '-' : h.sshd ? 'up' : 'down',
      `${e1?.mac ?? '-'}${e1 && !e1.up ? ' (down)' : ''}`,
      e1?.ipv4 ?? '-',
      e1?.ipv6 ?? '-',
      e0 ? `${e0.ipv4}${e0.up ? '' : ' (down)'}` : '-',
    ]);
  }
  console.log(`lab ${s.lab} (${s.provider}): ${s.state}`);
  console.log(table(rows));
  if (s.faults.length)
    console.log(`active faults: ${s.faults.map(describeFault).join('; ')} (undo with npm run lab:fault -- undo …)`);
  const blocks = (p: LabStatus['pool']) => p.blocks.map((b) => b.cidr ?? `${b.start}-${b.stop}`).join(', ');
  console.log(
    `pool ${s.pool.name}: ${blocks(s.pool)}  ·  policy ${s.policy.name}: interfaces ${s.policy.interfaces.join(',')}`,
  );
  for (const d of s.domains ?? [])
    console.log(
      `domain ${d.name} (${d.kind === 'vlan' ? `VLAN ${d.vlan} on the lab switch` : 'a switch of its own'}, NIC ${d.interface}, ` +
        `${d.ipv4} ${d.ipv6}): ${d.nodes.join(', ')} and the client  ·  pool ${d.pool.name}: ${blocks(d.pool)}  ·  policy ` +
        `${d.policy.name}: ` +
        `interfaces ${d.policy.interfaces.join(',')}`,
    );
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || !(cmd in usage))
    throw new UsageError(`unknown command "${cmd ?? ''}"; commands:\n  ${Object.values(usage).join('\n  ')}`);
  switch (cmd) {
    case 'up': {
      const { values } = parse(cmd, rest);
      if (values.help) {
        console.log(usage.up);
        return 0;
      }
      const lab = findLab(values);
      const provider = getProvider(lab.provider);
      const progress = consoleProgress(`[${lab.name}]`, values.quiet);
      progress.info(`lab:up ${lab.file} (provider ${provider.name}, ${lab.nodes.length} nodes + ${lab.client.name})`);
      const r = await labUp(lab, progress, provider);
      const status = await provider.status(lab);
      if (values.json) {
        console.log(JSON.stringify(status, null, 2));
        return status.state === 'up' ? 0 : 1;
      }
      console.log(
        r.changes.length
          ? `lab ${lab.name} is up: ${r.changes.length} changes in ${(r.elapsedMs / 1000).toFixed(2)} s`
          : `lab ${lab.name} is up: nothing to change (${(r.elapsedMs / 1000).toFixed(2)} s)`,
      );
      printStatus(status);
      return status.state === 'up' ? 0 : 1;
    }
    case 'spec': {
      const { values } = parse(cmd, rest, { out: { type: 'string' } });
      if (values.help) {
        console.log(usage.spec);
        return 0;
      }
      const lab = findLab(values);
      const out = (values as { out?: string }).out;
      if (out) {
        writeVagrantSpec(lab, out);
        console.log(`wrote the VM spec of lab ${lab.name} to ${out} (vagrant reads it through L2LAB_VAGRANT_SPEC)`);
      } else console.log(JSON.stringify(vagrantSpec(lab), null, 2));
      return 0;
    }
    case 'down': {
      const { values } = parse(cmd, rest);
      if (values.help) {
        console.log(usage.down);
        return 0;
      }
      const name = values.name ?? findLab(values).name;
      const r = await labDown(name, consoleProgress(`[${name}]`, values.quiet));
      console.log(
        r.removed.length
          ? `lab ${name} is down: removed ${r.removed.length} items in ${(r.elapsedMs / 1000).toFixed(2)} s`
          : `lab ${name}: nothing to remove`,
      );
      return 0;
    }
    case 'status': {
      const { values } = parse(cmd, rest);
      if (values.help) {
        console.log(usage.status);
        return 0;
      }
      const lab = findLab(values);
      const s = await getProvider(lab.provider).status(lab);
      if (values.json) console.log(JSON.stringify(s, null, 2));
      else printStatus(s);
      return 0;
    }
    case 'ssh': {
      const { values, positionals } = parse(cmd, rest);
      if (values.help || positionals.length === 0) {
        console.log(usage.ssh);
        return values.help ? 0 : 2;
      }
      const [node, ...command] = positionals;
      const lab = findLab(values);
      const s = await getProvider(lab.provider).status(lab);
      const r = spawnSync('ssh', [...(command.length ? [] : ['-t']), ...opensshArgs(s, node!), ...command], {
        stdio: 'inherit',
      });
      return r.status ?? 1;
    }
    case 'fault': {
      const options = Object.fromEntries(
        faultPlugins.flatMap((f) => f.options ?? []).map((o) => [o.name, { type: 'string' as const }]),
      );
      const { values, positionals } = parse(cmd, rest, options);
      const [action, kind, node, ...words] = positionals;
      if (values.help || !action) {
        console.log(usage.fault);
        return values.help ? 0 : 2;
      }
      const lab = findLab(values);
      const provider = getProvider(lab.provider);
      if (action === 'list') {
        const { faults } = await provider.status(lab, { probe: false });
        console.log(faults.length ? faults.map(describeFault).join('\n') : 'no active faults');
        return 0;
      }
      if (action !== 'inject' && action !== 'undo')
        throw new UsageError(`unknown action "${action}"; use inject, undo or list`);
      if (!node) throw new UsageError(`missing NODE\nusage: npm run ${usage.fault}`);
      const fault = toFault(kind, node, words, values as Record<string, unknown>);
      await (action === 'inject' ? injectFault(provider, lab, fault) : undoFault(provider, lab, fault));
      console.log(`${action === 'inject' ? 'injected' : 'undone'}: ${describeFault(fault)}`);
      return 0;
    }
  }
  return 2;
}

/** A fault from the command line: the kind's words after the node, and its options. */
function toFault(kind: string | undefined, node: string, words: string[], values: Record<string, unknown>): Fault {
  const p = faultPlugin(kind ?? '');
  if (words.length < p.args.length)
    throw new UsageError(`fault ${p.kind} needs ${p.args[words.length]!.help} after ${[node, ...words].join(' ')}`);
  if (words.length > p.args.length)
    throw new UsageError(
      `fault ${p.kind} takes ${p.args.length ? p.args.map((a) => a.name.toUpperCase()).join(' ') : 'nothing'} after the node, not ` +
        `"${words.slice(p.args.length).join(' ')}"`,
    );
  const f: Fault = { kind: p.kind, node };
  p.args.forEach((a, i) => {
    f[a.name] = words[i];
  });
  for (const [name, v] of Object.entries(values)) {
    if (typeof v !== 'string' || !faultPlugins.some((x) => x.options?.some((o) => o.name === name))) continue;
    if (!p.options?.some((o) => o.name === name)) throw new UsageError(`--${name} does not apply to ${p.kind}`);
    f[name] = v;
  }
  return f;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (
      e instanceof LabFileError ||
      e instanceof UsageError ||
      e instanceof FaultError ||
      e instanceof MissingPrimitive
    ) {
      console.error(`error: ${e.message}`);
      process.exit(2);
    }
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  },
);

// l2lab lab up|down|status|ssh|spec|fault: the lab's verbs, over lab/lifecycle.ts and a provider.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { asHostsFile } from '../../lab/as-hosts.ts';
import { ensureBmc, serveBmc } from '../../lab/bmc.ts';
import { confirmFaults, dryRun } from '../../lab/consent.ts';
import {
  checkFault,
  describeFault,
  faultPlugin,
  faultPlugins,
  injectFault,
  needPrimitives,
  undoFault,
} from '../../lab/faults/index.ts';
import { findLab } from '../../lab/find-lab.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { consoleProgress } from '../../lab/progress.ts';
import { getProvider } from '../../lab/providers/index.ts';
import { vagrantSpec, writeVagrantSpec } from '../../lab/providers/vagrant/spec.ts';
import { opensshArgs } from '../../lab/ssh.ts';
import { labJsonFile } from '../../lab/state.ts';
import { table } from '../../lab/table.ts';
import type { Fault, LabStatus } from '../../lab/types.ts';
import { UsageError } from '../../lab/validation.ts';
import { EXIT, type ExitCode } from '../exit.ts';

export interface LabOptions {
  lab?: string;
  name?: string;
  json?: boolean;
  quiet?: boolean;
}

function printStatus(s: LabStatus): void {
  const rows = [['NAME', 'ROLE', 'LABELS', 'POWER', 'SSHD', 'L2 NIC', 'MAC', 'IPv4', 'IPv6', 'SSH']];
  for (const h of [...s.nodes, s.client]) {
    const e1 = h.interfaces.find((i) => i.network === 'switch');
    const e0 = h.interfaces.find((i) => i.network === 'management');
    rows.push([
      h.name,
      h.role,
      Object.entries(h.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
      h.powered ? 'on' : 'off',
      h.role === 'client' && !h.ssh ? '-' : h.sshd ? 'up' : 'down',
      `${e1?.name ?? '-'}${e1 && !e1.up ? ' (down)' : ''}`,
      e1?.mac ?? '-',
      e1?.ipv4 ?? '-',
      e1?.ipv6 ?? '-',
      // where SSH reaches it: the management NIC's address (down: a fault), or a hosts file's address
      h.ssh ? `${h.ssh.host}${e0 && !e0.up ? ' (down)' : ''}` : '-',
    ]);
  }
  console.log(`lab ${s.lab} (${s.provider}): ${s.state}`);
  console.log(table(rows));
  if (s.faults.length)
    console.log(`active faults: ${s.faults.map(describeFault).join('; ')} (undo with l2lab lab fault undo …)`);
  const blocks = (p: LabStatus['pool']) => p.blocks.map((b) => b.cidr ?? `${b.start}-${b.stop}`).join(', ');
  console.log(
    `pool ${s.pool.name}: ${blocks(s.pool)}  ·  policy ${s.policy.name}: interfaces ${s.policy.interfaces.join(',')}`,
  );
  for (const d of s.domains ?? [])
    console.log(
      `domain ${d.name} (${d.kind === 'vlan' ? `VLAN ${d.vlan} on the lab switch` : 'a switch of its own'}, NIC ${d.interface}, ` +
        `${d.ipv4} ${d.ipv6}): ${d.nodes.join(', ')} and the client  ·  pool ${d.pool.name}: ${blocks(d.pool)}  ·  policy ` +
        `${d.policy.name}: interfaces ${d.policy.interfaces.join(',')}`,
    );
}

export async function labUpCommand(o: LabOptions): Promise<ExitCode> {
  const lab = findLab(o); // --name: the lab as it was built (recorded in its state), even when its file has moved
  const provider = getProvider(lab.provider);
  // With --json, stdout is the JSON alone: progress goes to stderr either way.
  const progress = consoleProgress(`[${lab.name}]`, o.quiet);
  progress.info(`lab up ${lab.file} (provider ${provider.name}, ${lab.nodes.length} nodes + ${lab.client.name})`);
  const r = await labUp(lab, progress, provider);
  const status = await provider.status(lab);
  const code = status.state === 'up' ? EXIT.ok : EXIT.harness;
  if (o.json) {
    console.log(JSON.stringify(status, null, 2));
    return code;
  }
  console.log(
    r.changes.length
      ? `lab ${lab.name} is up: ${r.changes.length} changes in ${(r.elapsedMs / 1000).toFixed(2)} s`
      : `lab ${lab.name} is up: nothing to change (${(r.elapsedMs / 1000).toFixed(2)} s)`,
  );
  printStatus(status);
  return code;
}

export async function labDownCommand(o: LabOptions): Promise<ExitCode> {
  const name = o.name ?? findLab(o).name;
  const r = await labDown(name, consoleProgress(`[${name}]`, o.quiet));
  if (o.json) console.log(JSON.stringify({ lab: name, removed: r.removed, elapsedMs: r.elapsedMs }, null, 2));
  else
    console.log(
      r.removed.length
        ? `lab ${name} is down: removed ${r.removed.length} items in ${(r.elapsedMs / 1000).toFixed(2)} s`
        : `lab ${name}: nothing to remove`,
    );
  return EXIT.ok;
}

export async function labStatusCommand(o: LabOptions & { asHosts?: boolean }): Promise<ExitCode> {
  const lab = findLab(o);
  const provider = getProvider(lab.provider);
  const s = await provider.status(lab);
  if (o.asHosts) process.stdout.write(asHostsFile(lab, s, provider));
  else if (o.json) console.log(JSON.stringify(s, null, 2));
  else printStatus(s);
  return EXIT.ok;
}

/** The lab's BMC: started unless it runs (or, with --serve, served here until SIGTERM). */
export async function labBmcCommand(o: LabOptions & { serve?: boolean }): Promise<ExitCode> {
  const lab = findLab(o);
  const provider = getProvider(lab.provider);
  if (o.serve) {
    await serveBmc(lab, provider);
    return EXIT.ok;
  }
  const { bmc, started } = await ensureBmc(lab);
  if (o.json) console.log(JSON.stringify({ ...bmc, started }, null, 2));
  else
    console.log(
      `lab ${lab.name}'s BMC ${started ? 'started' : 'runs'}: ${bmc.url} (user ${bmc.user}, password ${bmc.password}); ` +
        `systems ${Object.values(bmc.systems).join(', ')}; lab:down stops it`,
    );
  return EXIT.ok;
}

export function labSpecCommand(o: LabOptions & { out?: string }): ExitCode {
  if (o.name) throw new UsageError('lab spec renders a lab file: give --lab FILE, not --name');
  const lab = findLab(o);
  if (o.out) {
    writeVagrantSpec(lab, o.out);
    console.log(`wrote the VM spec of lab ${lab.name} to ${o.out} (vagrant reads it through L2LAB_VAGRANT_SPEC)`);
  } else console.log(JSON.stringify(vagrantSpec(lab), null, 2));
  return EXIT.ok;
}

/** A shell or one command on a machine of the lab; its exit code is the command's. */
export async function labSshCommand(node: string, command: string[], o: LabOptions): Promise<number> {
  const lab = findLab(o);
  const s = await getProvider(lab.provider).status(lab);
  const r = spawnSync('ssh', [...(command.length ? [] : ['-t']), ...opensshArgs(s, node), ...command], {
    stdio: 'inherit',
  });
  return r.status ?? EXIT.harness;
}

export async function labFaultCommand(
  action: 'inject' | 'undo' | 'list',
  kind: string | undefined,
  node: string | undefined,
  words: string[],
  o: LabOptions & Record<string, unknown>,
): Promise<ExitCode> {
  // Read before the lab is looked at: bad words are bad input whatever the lab's state.
  const fault = action === 'list' ? undefined : toFault(kind, node, words, o);
  const lab = findLab(o);
  const provider = getProvider(lab.provider);
  if (!fault) {
    const { faults } = await provider.status(lab, { probe: false });
    if (o.json) console.log(JSON.stringify(faults, null, 2));
    else console.log(faults.length ? faults.map(describeFault).join('\n') : 'no active faults');
    return EXIT.ok;
  }
  if (o.dryRun) {
    // What it would run, machine by machine; nothing runs and nothing is recorded.
    const io = dryRun(lab, (l) => console.log(l));
    const { plugin, params } = checkFault(fault);
    needPrimitives(provider, fault.kind, lab);
    await (action === 'inject' ? plugin.inject(io, lab, fault.node, params) : plugin.undo(io, lab, fault.node, params));
    return EXIT.ok;
  }
  // A fault is recorded in the lab's state, so that it can be undone: a lab never brought up has none.
  if (!existsSync(labJsonFile(lab.name)))
    throw new UsageError(`lab ${lab.name} is not up on this host: \`l2lab lab up --lab ${lab.file}\` first`);
  if (action === 'inject') await confirmFaults(lab, o.yes === true, `lab fault inject ${fault.kind}`);
  await (action === 'inject' ? injectFault(provider, lab, fault) : undoFault(provider, lab, fault));
  if (o.json) console.log(JSON.stringify({ action, fault }, null, 2));
  else console.log(`${action === 'inject' ? 'injected' : 'undone'}: ${describeFault(fault)}`);
  return EXIT.ok;
}

/** The options every fault kind may take, for the parser: each kind says which apply to it. */
export const faultOptionNames = [...new Set(faultPlugins.flatMap((f) => (f.options ?? []).map((o) => o.name)))];

/** A fault from the command line: the kind's words after the node, and its options. */
function toFault(
  kind: string | undefined,
  node: string | undefined,
  words: string[],
  values: Record<string, unknown>,
): Fault {
  const p = faultPlugin(kind ?? '');
  if (!node) throw new UsageError(`fault ${p.kind} needs a NODE (or switch) after the kind`);
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
  for (const name of faultOptionNames) {
    const v = values[name];
    if (typeof v !== 'string') continue;
    if (!p.options?.some((o) => o.name === name)) throw new UsageError(`--${name} does not apply to ${p.kind}`);
    f[name] = v;
  }
  return f;
}

// `l2lab test --dry-run`: what a run would do, read from the lab file, the subject and the checks
// alone — which checks would run or be skipped (and why), which faults they may inject, and every
// command each fault runs, node by node. Nothing is reached, installed or changed: a hosts file
// can be read before its machines are.

import { dryRun } from '../lab/consent.ts';
import { faultPlugin, hasPrimitive, type Primitive } from '../lab/faults/index.ts';
import { getProvider } from '../lab/providers/index.ts';
import type { Lab, Lease } from '../lab/types.ts';
import { isSelected } from './check.ts';
import { skipReason } from './check-runner.ts';
import { faultsFor } from './checks/failover.ts';
import { checks } from './checks/index.ts';
import { loadSubject } from './subject.ts';
import { refuseInstall } from './suite.ts';

export interface DryRunRequest {
  lab: Lab;
  subject: string;
  installed: boolean;
  faults: string[];
  only?: string[];
  skip?: string[];
  lease?: Partial<Lease>;
}

/** The plan, as lines to print. */
export async function dryRunPlan(req: DryRunRequest): Promise<string[]> {
  const { lab } = req;
  const provider = getProvider(lab.provider);
  const subject = loadSubject(req.subject, lab.lease, req.lease, provider.timingSlackMs?.(lab));
  const preinstalled = req.installed || subject.preinstalled;
  refuseInstall(lab, provider, subject, preinstalled); // as the run would, before anything
  const out: string[] = [
    'l2lab test --dry-run: nothing is reached, installed or changed; a run would do this.',
    `lab ${lab.name} (provider ${lab.provider}): nodes ${lab.nodes.map((n) => n.name).join(', ')}; client ${lab.client.name}`,
    preinstalled
      ? `subject ${subject.name}: already running (l2lab installs, stops and removes nothing)`
      : `subject ${subject.name}: installed with ${subject.install ? `playbook ${subject.install.playbook}` : 'its run line'} ` +
        'on every node (other announcers stopped first)',
    '',
    'checks:',
  ];
  const selected = checks.filter((c) => isSelected(c, req.only, req.skip));
  const can = (p: Primitive) => hasPrimitive(provider, lab, p);
  const injected = new Map<string, string[]>(); // fault kind → the checks that may inject it
  const width = Math.max(...selected.map((c) => c.id.length));
  for (const c of selected) {
    const why = skipReason(c, subject, preinstalled);
    if (why) {
      out.push(`  ${c.id.padEnd(width)}  skipped: ${why}`);
      continue;
    }
    let kinds = c.injects ?? [];
    let note = '';
    if (c.id === 'failover') {
      const { run, left } = faultsFor(req.faults, (f) => subject.has(f), can);
      kinds = run;
      note = left.length ? `; ${left.join('; ')}` : '';
    }
    out.push(`  ${c.id.padEnd(width)}  runs${kinds.length ? `, may inject ${kinds.join(', ')}` : ''}${note}`);
    for (const k of kinds) injected.set(k, [...(injected.get(k) ?? []), c.id]);
  }
  if (!injected.size) return [...out, '', 'no fault would be injected.'];

  // Every command, node by node, as the provider would run it: a trial's fault hits whichever node
  // holds the VIP then (its parameters: the node's NIC on the L2 domain, the subject's service).
  const commands = async (kind: string, node: string): Promise<string[]> => {
    const plugin = faultPlugin(kind);
    const lines: string[] = [];
    const io = dryRun(lab, (l) => lines.push(`    ${l}`));
    const params = plugin.trial?.params(subject.service, lab, node) ?? {};
    for (const [step, call] of [
      ['inject', () => plugin.inject(io, lab, node, params)],
      ['undo', () => plugin.undo(io, lab, node, params)],
    ] as const) {
      lines.push(`  ${step}:`);
      try {
        await call();
      } catch (e) {
        lines.push(`    cannot: ${(e as Error).message}`);
      }
    }
    return lines;
  };
  const lacking = (kind: string) => faultPlugin(kind).primitives.filter((p) => !can(p));
  const head = (kind: string) => `${kind} (${injected.get(kind)!.join(', ')})`;
  out.push('', 'faults, node by node (each hits the node holding the VIP at the time; each undone after):');
  const onSwitch = [...injected.keys()].filter((k) => faultPlugin(k).scope === 'switch');
  for (const n of lab.nodes) {
    out.push(`  ${n.name}:`);
    for (const kind of [...injected.keys()].filter((k) => !onSwitch.includes(k))) {
      const no = lacking(kind);
      if (no.length) out.push(`    ${head(kind)}: skipped here, the provider has no ${no.join(', ')} primitive`);
      else out.push(`    ${head(kind)}:`, ...(await commands(kind, n.name)).map((l) => `    ${l}`));
    }
  }
  for (const kind of onSwitch) {
    const no = lacking(kind);
    out.push(`  the lab switch, ${head(kind)}:`);
    if (no.length) out.push(`    skipped here, the provider has no ${no.join(', ')} primitive`);
    else out.push(...(await commands(kind, 'switch')).map((l) => `  ${l}`));
  }
  return out;
}

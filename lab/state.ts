// State every provider keeps on the host, under /var/lib/l2l-<lab>: faults in force, the
// provider that built the lab (so lab:down by name finds it), and small shared helpers.
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import * as names from './names.ts';
import type { ExecResult, Fault } from './provider.ts';
import type { HostInterface, Lab, LabHost } from './types.ts';

export function mgmt(h: LabHost): HostInterface {
  const i = h.interfaces.find((x) => x.name === 'eth0');
  if (!i) throw new Error(`${h.name} has no management interface`);
  return i;
}

export function findHost(lab: Lab, name: string): LabHost {
  const h = [...lab.nodes, lab.client].find((x) => x.name === name);
  if (!h) throw new Error(`no machine "${name}" in lab ${lab.name}; machines: ${[...lab.nodes, lab.client].map((x) => x.name).join(', ')}`);
  return h;
}

export function ifaceOf(h: LabHost, iface: string): HostInterface {
  const i = h.interfaces.find((x) => x.name === iface);
  if (!i) throw new Error(`${h.name} has no interface ${iface}; it has ${h.interfaces.map((x) => x.name).join(', ')}`);
  return i;
}

export function sameFault(a: Fault, b: Fault): boolean {
  return JSON.stringify({ ...a, signal: undefined }) === JSON.stringify({ ...b, signal: undefined });
}

export const faultsFile = (lab: Lab) => join(names.stateDir(lab.name), 'faults.json');
export function readFaults(lab: Lab): Fault[] {
  const t = readIf(faultsFile(lab));
  return t ? (JSON.parse(t) as Fault[]) : [];
}

export function writeFaults(lab: Lab, faults: Fault[]): void {
  writeAtomic(faultsFile(lab), JSON.stringify(faults, null, 2) + '\n', 0o644);
}

export function readIf(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

export function writeAtomic(path: string, content: string, mode: number): void {
  const tmp = `${path}.l2l-tmp`;
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/** True when an SSH server answers with its banner at addr:22. */
export function sshBanner(addr: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: addr, port: 22 });
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('SSH-')));
  });
}

const providerFile = (lab: string) => join(names.stateDir(lab), 'provider');
/** Records which provider built the lab, for lab:down by name. */
export function writeProviderName(lab: string, provider: string): void {
  writeAtomic(providerFile(lab), provider + '\n', 0o644);
}
/** The provider that built the lab named, if its state directory says so. */
export function providerOf(lab: string): string | undefined {
  return readIf(providerFile(lab))?.trim() || undefined;
}

/** Records a fault as in force (lab:up leaves what it affects alone). */
export function recordFault(lab: Lab, fault: Fault): void {
  writeFaults(lab, [...readFaults(lab).filter((f) => !sameFault(f, fault)), fault]);
}

type Exec = (lab: Lab, host: string, argv: string[]) => Promise<ExecResult>;
type ProcessFault = Extract<Fault, { kind: 'process-stop' | 'pause' }>;

/**
 * Process faults, on every provider: l2l-service on the machine stops, signals or starts the
 * service. Returns its output (with "effective-at <ns>" when a signal went out).
 */
export async function processFault(exec: Exec, lab: Lab, fault: ProcessFault, undo: boolean): Promise<string> {
  const args = fault.kind === 'process-stop'
    ? (undo ? ['start', fault.process] : ['stop', fault.process, fault.signal ?? 'TERM'])
    : ['signal', fault.process, undo ? 'CONT' : 'STOP'];
  const r = await exec(lab, fault.node, ['/etc/l2lab/bin/l2l-service', ...args]);
  if (r.exitCode !== 0) throw new Error(`l2l-service ${args.join(' ')} on ${fault.node} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

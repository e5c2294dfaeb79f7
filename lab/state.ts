// State every lab keeps on the host (paths: names.labPaths): faults in force, the
// provider that built the lab (so lab:down by name finds it), and small shared helpers.
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import * as names from './names.ts';
import {
  type Fault,
  type HostInterface,
  type Lab,
  type LabHost,
  MANAGEMENT_INTERFACE,
  SWITCH_INTERFACE,
} from './types.ts';

export function mgmt(h: LabHost): HostInterface {
  const i = h.interfaces.find((x) => x.name === MANAGEMENT_INTERFACE);
  if (!i) throw new Error(`${h.name} has no management interface`);
  return i;
}

/** A machine's NIC on the lab switch (every machine has one). */
export function switchNic(h: LabHost): HostInterface {
  return h.interfaces.find((x) => x.name === SWITCH_INTERFACE)!;
}

/** The control plane (the lab file requires one): it runs the lease store, or the API server. */
export function controlPlane(lab: Lab): LabHost {
  return lab.nodes.find((n) => n.role === 'control-plane')!;
}

export function findHost(lab: Lab, name: string): LabHost {
  const h = [...lab.nodes, lab.client].find((x) => x.name === name);
  if (!h)
    throw new Error(
      `no machine "${name}" in lab ${lab.name}; machines: ${[...lab.nodes, lab.client].map((x) => x.name).join(', ')}`,
    );
  return h;
}

export function ifaceOf(h: LabHost, iface: string): HostInterface {
  const i = h.interfaces.find((x) => x.name === iface);
  if (!i) throw new Error(`${h.name} has no interface ${iface}; it has ${h.interfaces.map((x) => x.name).join(', ')}`);
  return i;
}

export const faultsFile = (lab: Lab) => names.labPaths(lab.name).faults;
export function readFaults(lab: Lab): Fault[] {
  const t = readIf(faultsFile(lab));
  return t ? (JSON.parse(t) as Fault[]) : [];
}

export function writeFaults(lab: Lab, faults: Fault[]): void {
  writeAtomic(faultsFile(lab), `${JSON.stringify(faults, null, 2)}\n`, 0o644);
}

export function readIf(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
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
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('SSH-')));
  });
}

const providerFile = (lab: string) => names.labPaths(lab).provider;
/** Records which provider built the lab, for lab:down by name. */
export function writeProviderName(lab: string, provider: string): void {
  writeAtomic(providerFile(lab), `${provider}\n`, 0o644);
}
/** The provider that built the lab named, if its state directory says so. */
export function providerOf(lab: string): string | undefined {
  return readIf(providerFile(lab))?.trim() || undefined;
}

/** Where a lab that is up keeps its resolved lab file: `--name` finds it there, whatever the provider. */
export const labJsonFile = (name: string) => names.labPaths(name).labJson;
const labJsonText = (lab: Lab) => `${JSON.stringify(lab, null, 2)}\n`;
/** The saved lab differs from this one (or there is none): a provider's up saves it. */
export const labJsonStale = (lab: Lab) => readIf(labJsonFile(lab.name)) !== labJsonText(lab);
export const saveLabJson = (lab: Lab) => writeAtomic(labJsonFile(lab.name), labJsonText(lab), 0o644);

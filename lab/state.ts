// State every lab keeps on this host (paths: names.labPaths): faults in force, the provider that
// built the lab (so lab:down by name finds it), the resolved lab file (so --name finds it).
import { existsSync } from 'node:fs';
import { readIf, writeAtomic } from './files.ts';
import * as names from './names.ts';
import type { Fault, Lab } from './types.ts';

export const faultsFile = (lab: Lab) => names.labPaths(lab.name).faults;
export function readFaults(lab: Lab): Fault[] {
  const t = readIf(faultsFile(lab));
  return t ? (JSON.parse(t) as Fault[]) : [];
}

export function writeFaults(lab: Lab, faults: Fault[]): void {
  writeAtomic(faultsFile(lab), `${JSON.stringify(faults, null, 2)}\n`, 0o644);
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

/** What every provider's status says the same way: the lab file's parts, the SSH files, the faults in force (read here unless given). */
export function commonStatus(lab: Lab, provider: string, faults?: Fault[]) {
  const paths = names.labPaths(lab.name);
  return {
    schema: 'l2lab.status/v1' as const,
    lab: lab.name,
    provider,
    file: lab.file,
    ssh: { user: names.sshUser, identityFile: paths.clientKey, knownHostsFile: paths.knownHosts },
    pool: lab.pool,
    policy: lab.policy,
    domains: lab.domains,
    lease: lab.lease,
    versions: lab.versions,
    faults: faults ?? (existsSync(paths.dir) ? readFaults(lab) : []),
  };
}

/**
 * A lab file's machines as lab:up observed them, where that lab is up: machines l2lab did not
 * build have MACs, addresses and host keys of their own, which their lab file leaves out.
 */
export function withObserved(lab: Lab): Lab {
  if (!lab.hosts) return lab;
  const text = readIf(labJsonFile(lab.name));
  const saved = text ? (JSON.parse(text) as Lab) : undefined;
  if (!saved || saved.file !== lab.file) return lab;
  for (const h of [...lab.nodes, lab.client]) {
    const o = [...saved.nodes, saved.client].find((x) => x.name === h.name);
    for (const i of h.interfaces) {
      const seen = o?.interfaces.find((x) => x.name === i.name);
      if (!seen) continue;
      i.mac ||= seen.mac;
      i.ipv4 ||= seen.ipv4;
      i.ipv6 ||= seen.ipv6;
    }
    const m = lab.hosts.machines[h.name];
    const was = saved.hosts?.machines[h.name];
    if (m && !m.hostKey && was?.hostKey && was.ssh === m.ssh && was.port === m.port) m.hostKey = was.hostKey;
  }
  return lab;
}

// A lab l2lab built, written as a hosts file (`l2lab lab status --as-hosts`): the same machines
// reached only as existing hosts are (SSH with pinned keys, their NICs by name, power through
// commands), so that the path for a user's own cluster is measured here against a lab whose
// verdicts are known.
import { Document, type YAMLSeq } from 'yaml';
import { proberAddresses } from './addresses.ts';
import { findHost, switchNic } from './hosts.ts';
import { LAB_NAME_MAX } from './labfile/schema.ts';
import type { Provider } from './provider.ts';
import type { Lab, LabStatus } from './types.ts';
import { UsageError } from './validation.ts';

/** The hosts lab's name: the lab's, with "h" (its state must not be the lab's own). */
export const hostsLabName = (lab: string) => `${lab.slice(0, LAB_NAME_MAX - 1)}h`;

export function asHostsFile(lab: Lab, status: LabStatus, provider: Provider): string {
  if (status.state !== 'up')
    throw new UsageError(
      `lab ${lab.name} is ${status.state}: \`l2lab lab up\` it first (its machines must be reachable)`,
    );
  if (lab.domains.length)
    throw new UsageError(`lab ${lab.name} has further L2 domains; a hosts file measures one (the lab switch)`);
  const power = provider.powerCommands?.(lab);
  if (!power) throw new UsageError(`provider ${lab.provider} has no power commands to write into a hosts file`);
  const machines: Record<string, unknown> = {};
  for (const h of [...status.nodes, status.client]) {
    if (!h.ssh)
      throw new UsageError(
        `${h.name} is not reached over SSH${
          h.role === 'client'
            ? ' (a netns client has no management NIC unless the lab file says client: { management: true })'
            : ''
        }: a hosts file reaches every machine that way`,
      );
    machines[h.name] = {
      ssh: h.ssh.host,
      ...(h.ssh.port === 22 ? {} : { port: h.ssh.port }),
      nic: switchNic(findHost(lab, h.name)).name,
    };
  }
  const p = proberAddresses(lab);
  const file = {
    name: hostsLabName(lab.name),
    provider: 'hosts',
    switch: { ipv4: lab.switch.ipv4, ipv6: lab.switch.ipv6 },
    nodes: lab.nodes.map((n) => ({
      name: n.name,
      ...(n.role === 'worker' ? {} : { role: n.role }),
      ...(Object.keys(n.labels).length ? { labels: n.labels } : {}),
    })),
    client: { name: lab.client.name },
    pool: lab.pool,
    policy: {
      name: lab.policy.name,
      interfaces: lab.policy.interfaces,
      ...(lab.policy.nodeSelector ? { nodeSelector: lab.policy.nodeSelector } : {}),
      ...(lab.policy.serviceSelector ? { serviceSelector: lab.policy.serviceSelector } : {}),
      loadBalancerIPs: lab.policy.loadBalancerIPs,
      externalIPs: lab.policy.externalIPs,
    },
    versions: lab.versions,
    lease: {
      duration: `${lab.lease.durationMs}ms`,
      renewDeadline: `${lab.lease.renewDeadlineMs}ms`,
      retryPeriod: `${lab.lease.retryPeriodMs}ms`,
    },
    hosts: {
      user: status.client.ssh!.user,
      identityFile: status.ssh.identityFile,
      knownHosts: status.ssh.knownHostsFile,
      prober: { ipv4: p.ipv4, ipv6: p.ipv6 },
      power,
      machines,
    },
  };
  const doc = new Document(file);
  for (const family of ['ipv4', 'ipv6']) (doc.getIn(['hosts', 'prober', family], true) as YAMLSeq).flow = true;
  return (
    `# Lab ${lab.name} (provider ${lab.provider}) as existing hosts: \`l2lab lab status --as-hosts\` wrote this.\n` +
    `# Everything goes through SSH with the pinned keys and the power commands below, which stand for a BMC's.\n` +
    doc.toString({ lineWidth: 0 })
  );
}

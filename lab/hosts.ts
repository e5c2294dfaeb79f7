// A lab's machines as the lab model names them: the control plane, a machine by name, its NICs.
import { matches } from './selector.ts';
import type { Domain, HostInterface, Lab, LabHost } from './types.ts';
import { UsageError } from './validation.ts';

// NICs are found by the network they are on, never by name: a machine l2lab did not build names
// its own (enp0s9, bond0.100).

export function mgmt(h: LabHost): HostInterface {
  const i = h.interfaces.find((x) => x.network === 'management');
  if (!i) throw new Error(`${h.name} has no management interface`);
  return i;
}

/**
 * The address a machine is managed at (its lease store's, its SSH): the management NIC's, or
 * on machines l2lab did not build, the address SSH reaches it at.
 */
export function managementAddress(lab: Lab, h: LabHost): string {
  const i = h.interfaces.find((x) => x.network === 'management');
  const a = i?.ipv4 ?? lab.hosts?.machines[h.name]?.ssh;
  if (!a) throw new Error(`${h.name} has no management interface`);
  return a;
}

/** A machine's NIC on the lab switch (every machine has one). */
export function switchNic(h: LabHost): HostInterface {
  return h.interfaces.find((x) => x.network === 'switch')!;
}

/**
 * The control plane: it runs the lease store, or the API server. Every lab l2lab builds has one; a
 * hosts lab may not (a keepalived pair), and then what needs one stops here, saying so.
 */
export function controlPlane(lab: Lab): LabHost {
  const cp = lab.nodes.find((n) => n.role === 'control-plane');
  if (!cp)
    throw new UsageError(
      `lab ${lab.name} has no node with role: control-plane, where this subject's store or API server is reached; ` +
        'give that node role: control-plane in the lab file',
    );
  return cp;
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

/** The nodes that may announce in an L2 domain: on it, and selected by its policy. */
export const domainEligible = (d: Domain, nodes: LabHost[]): LabHost[] =>
  nodes.filter((n) => d.nodes.includes(n.name) && matches(d.policy.nodeSelector, n.labels));

/** The further L2 domain a NIC is in (undefined: the lab switch or the management network). */
export const domainOf = (lab: Lab, i: HostInterface): Domain | undefined =>
  lab.domains.find((d) => d.name === i.domain);

/** A machine's NIC in an L2 domain, if it is on it. */
export const domainNic = (h: LabHost, d: Domain): HostInterface | undefined =>
  h.interfaces.find((i) => i.domain === d.name);

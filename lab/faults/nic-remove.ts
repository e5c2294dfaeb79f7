import { z } from 'zod';
import { findHost } from '../hosts.ts';
import type { Lab } from '../types.ts';
import { UsageError } from '../validation.ts';
import { atNextRetry, defineFault, primitive } from './fault.ts';

/** `iface`, checked to be the node's NIC in a further L2 domain: the only kind a running machine may gain or lose here. */
function checkedDomainIface(lab: Lab, node: string, iface: string): string {
  const h = findHost(lab, node);
  const nics = h.interfaces.filter((i) => i.network === 'domain');
  if (!nics.some((i) => i.name === iface))
    throw new UsageError(
      `nic-remove takes a NIC of ${node} in a further L2 domain (${
        nics.map((i) => `${i.name}: ${i.domain}`).join(', ') || 'it has none: domains: in the lab file'
      }), not "${iface}"; the lab switch's and the management NIC carry the lab (link-down pulls their cable)`,
    );
  return iface;
}

export default defineFault({
  kind: 'nic-remove',
  primitives: ['nic'],
  description:
    "one of the node's NICs in a further L2 domain taken out (hot-unplugged: the interface is gone); undo puts it back " +
    '(nic-add: hot-plugged, configured as lab:up configures it) into the running node',
  args: [{ name: 'iface', help: "the node's NIC in a further L2 domain (eth2, …)" }],
  params: z.strictObject({ iface: z.string().min(1) }),
  describe: (node, p) => `${node} ${p.iface} taken out (hot-unplugged)`,
  // An announcer that watches its interfaces announces on the new one at once (its lease is its own or free).
  budget: atNextRetry,
  held: (p) => ({ absent: [p.iface] }),
  inject: async (io, lab, node, p) => {
    await primitive(io, 'nic', 'nic-remove')(lab, node, checkedDomainIface(lab, node, p.iface), false);
    return Date.now();
  },
  undo: async (io, lab, node, p) => {
    await primitive(io, 'nic', 'nic-remove')(lab, node, checkedDomainIface(lab, node, p.iface), true);
  },
});

import { z } from 'zod';
import type { Lab } from '../types.ts';
import { SWITCH_INTERFACE } from '../types.ts';
import { afterLeaseExpiry, defineFault, primitive } from './fault.ts';

/**
 * What goes dark: "switch" is the lab switch (every machine's eth1); a further L2 domain's name is
 * that domain (its own switch, or its VLAN), the NIC there of every machine on it.
 */
function target(lab: Lab, name: string): { iface: string; machines: string[] } {
  if (name === 'switch') return { iface: SWITCH_INTERFACE, machines: [...lab.nodes, lab.client].map((h) => h.name) };
  const d = lab.domains.find((x) => x.name === name);
  if (!d)
    throw new Error(
      `switch-down takes "switch" (the lab switch)${
        lab.domains.length ? ` or an L2 domain (${lab.domains.map((x) => x.name).join(', ' + '')})` : ''
      }, not "${name}"`,
    );
  return { iface: d.interface, machines: [...d.nodes, lab.client.name] };
}

export default defineFault({
  kind: 'switch-down',
  primitives: ['carrier'],
  description:
    'the lab switch, or one L2 domain (its switch or VLAN), goes dark (a LAN bounce): every port loses carrier, nodes and client alike, ' +
    'until undone',
  scope: 'switch',
  args: [],
  params: z.strictObject({}),
  describe: (node) => `${node} down: every port without carrier`,
  // After the switch returns, leases may have expired everywhere: a holder is elected afresh.
  budget: afterLeaseExpiry,
  held: (_p, node, lab) => ({
    unplugged: [
      node === 'switch' || !lab
        ? SWITCH_INTERFACE
        : (lab.domains.find((d) => d.name === node)?.interface ?? SWITCH_INTERFACE),
    ],
  }),
  inject: async (io, lab, node) => {
    const t = target(lab, node);
    for (const h of t.machines) await primitive(io, 'carrier', 'switch-down')(lab, h, t.iface, false);
    return undefined;
  },
  undo: async (io, lab, node) => {
    const t = target(lab, node);
    for (const h of t.machines) await primitive(io, 'carrier', 'switch-down')(lab, h, t.iface, true);
  },
});

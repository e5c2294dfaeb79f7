import { z } from 'zod';
import { switchNic } from '../hosts.ts';
import type { Lab } from '../types.ts';
import { SWITCH_INTERFACE } from '../types.ts';
import { afterLeaseExpiry, defineFault, primitive } from './fault.ts';

/**
 * What goes dark: "switch" is the lab switch (every machine's eth1); a further L2 domain's name is
 * that domain (its own switch, or its VLAN), the NIC there of every machine on it.
 */
function target(lab: Lab, name: string): { machine: string; iface: string }[] {
  if (name === 'switch') return [...lab.nodes, lab.client].map((h) => ({ machine: h.name, iface: switchNic(h).name }));
  const d = lab.domains.find((x) => x.name === name);
  if (!d)
    throw new Error(
      `switch-down takes "switch" (the lab switch)${
        lab.domains.length ? ` or an L2 domain (${lab.domains.map((x) => x.name).join(', ' + '')})` : ''
      }, not "${name}"`,
    );
  return [...d.nodes, lab.client.name].map((machine) => ({ machine, iface: d.interface }));
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
  // The NIC names that stay unplugged (lab:up asks per machine; each has one of them).
  held: (_p, node, lab) => ({
    unplugged: lab ? [...new Set(target(lab, node).map((t) => t.iface))] : [SWITCH_INTERFACE],
  }),
  inject: async (io, lab, node) => {
    for (const t of target(lab, node)) await primitive(io, 'carrier', 'switch-down')(lab, t.machine, t.iface, false);
    return undefined;
  },
  undo: async (io, lab, node) => {
    for (const t of target(lab, node)) await primitive(io, 'carrier', 'switch-down')(lab, t.machine, t.iface, true);
  },
});

import { z } from 'zod';
import { SWITCH_INTERFACE } from '../types.ts';
import { afterLeaseExpiry, defineFault } from './fault.ts';

/** Every machine on the lab switch: the nodes and the client. */
const machines = (lab: { nodes: { name: string }[]; client: { name: string } }) =>
  [...lab.nodes, lab.client].map((h) => h.name);

export default defineFault({
  kind: 'switch-down',
  description:
    'the lab switch goes dark (a LAN bounce): every port loses carrier, nodes and client alike, until undone',
  scope: 'switch',
  args: [],
  params: z.strictObject({}),
  describe: (node) => `${node} down: every port without carrier`,
  // After the switch returns, leases may have expired everywhere: a holder is elected afresh.
  budget: afterLeaseExpiry,
  held: () => ({ unplugged: [SWITCH_INTERFACE] }),
  inject: async (io, lab, node) => {
    if (node !== 'switch') throw new Error(`switch-down takes the switch's name, "switch" (not ${node})`);
    for (const h of machines(lab)) await io.carrier(lab, h, SWITCH_INTERFACE, false);
    return undefined;
  },
  undo: async (io, lab) => {
    for (const h of machines(lab)) await io.carrier(lab, h, SWITCH_INTERFACE, true);
  },
});

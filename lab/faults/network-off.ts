import { z } from 'zod';
import { findHost } from '../hosts.ts';
import { type Lab, MANAGEMENT_INTERFACE, SWITCH_INTERFACE } from '../types.ts';
import { afterLeaseExpiry, defineFault, primitive } from './fault.ts';

/** Every NIC the lab knows of the node, its switch NIC first. */
const nics = (lab: Lab, node: string) =>
  findHost(lab, node)
    .interfaces.slice()
    .sort((a, b) => Number(b.network === 'switch') - Number(a.network === 'switch'))
    .map((i) => i.name);

export default defineFault({
  kind: 'network-off',
  primitives: ['carrier'],
  description: 'every cable of the node pulled (switch and management): it runs on, alone',
  args: [],
  params: z.strictObject({}),
  describe: (node) => `every cable of ${node} pulled (network off)`,
  // The holder loses its store too and renews nothing: the others wait for the lease to expire.
  budget: afterLeaseExpiry,
  trial: { params: () => ({}) },
  held: (_p, node, lab) => ({ unplugged: lab ? nics(lab, node) : [MANAGEMENT_INTERFACE, SWITCH_INTERFACE] }),
  // The switch first: the fault counts from the moment the announcing link goes.
  inject: async (io, lab, node) => {
    let first: number | undefined;
    for (const i of nics(lab, node))
      first ??= (await primitive(io, 'carrier', 'network-off')(lab, node, i, false)) ?? undefined;
    return first;
  },
  undo: async (io, lab, node) => {
    for (const i of nics(lab, node).reverse()) await primitive(io, 'carrier', 'network-off')(lab, node, i, true);
  },
});

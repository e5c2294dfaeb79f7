import { z } from 'zod';
import { findHost, switchNic } from '../hosts.ts';
import { atNextRetry, defineFault, primitive } from './fault.ts';

export default defineFault({
  kind: 'link-down',
  primitives: ['carrier'],
  description:
    'the cable of one NIC pulled: the node sees no carrier and keeps its configuration; in a trial, the announcing link',
  args: [{ name: 'iface', help: 'the interface (eth0 or eth1)' }],
  params: z.strictObject({ iface: z.string().min(1) }),
  describe: (node, p) => `cable of ${node} ${p.iface} pulled (link down)`,
  // The announcer sees its link go and releases at once; the others take over at their next retry.
  budget: atNextRetry,
  trial: { params: (_service, lab, node) => ({ iface: switchNic(findHost(lab, node)).name }) },
  held: (p) => ({ unplugged: [p.iface] }),
  inject: async (io, lab, node, p) => {
    return (await primitive(io, 'carrier', 'link-down')(lab, node, p.iface, false)) ?? undefined;
  },
  undo: async (io, lab, node, p) => {
    await primitive(io, 'carrier', 'link-down')(lab, node, p.iface, true);
  },
});

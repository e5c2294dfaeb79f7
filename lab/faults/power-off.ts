import { z } from 'zod';
import { afterLeaseExpiry, defineFault, primitive } from './fault.ts';

export default defineFault({
  kind: 'power-off',
  primitives: ['power'],
  description:
    'power cut: every process of the node at once, its NICs lose carrier; undo boots it (disk kept, /run empty)',
  args: [],
  params: z.strictObject({}),
  describe: (node) => `power off ${node}`,
  budget: afterLeaseExpiry,
  trial: { params: () => ({}), waitReady: true },
  held: () => ({ powerOff: true }),
  inject: async (io, lab, node) => {
    await primitive(io, 'power', 'power-off')(lab, node, false);
    return undefined;
  },
  undo: (io, lab, node) => primitive(io, 'power', 'power-off')(lab, node, true),
});

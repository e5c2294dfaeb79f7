import { z } from 'zod';
import { afterLeaseExpiry, defineFault } from './fault.ts';

export default defineFault({
  kind: 'power-off',
  description:
    'power cut: every process of the node at once, its NICs lose carrier; undo boots it (disk kept, /run empty)',
  args: [],
  params: z.strictObject({}),
  describe: (node) => `power off ${node}`,
  budget: afterLeaseExpiry,
  trial: { params: () => ({}), waitReady: true },
  held: () => ({ powerOff: true }),
  inject: async (io, lab, node) => {
    await io.power(lab, node, false);
    return undefined;
  },
  undo: (io, lab, node) => io.power(lab, node, true),
});

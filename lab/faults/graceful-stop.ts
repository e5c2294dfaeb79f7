import { z } from 'zod';
import { atNextRetry, defineFault } from './fault.ts';
import { serviceCall, serviceUndo } from './service.ts';

export default defineFault({
  kind: 'graceful-stop',
  primitives: [],
  description: 'the announcer stopped with SIGTERM: it may release its leases on the way out',
  args: [{ name: 'process', help: 'a process (service) name' }],
  params: z.strictObject({ process: z.string().min(1) }),
  describe: (node, p) => `stop ${p.process} gracefully (TERM) on ${node}`,
  // A released lease is taken at the next retry.
  budget: atNextRetry,
  trial: { params: (service) => ({ process: service }), needs: ['graceful-release'], waitReady: true },
  held: (p) => ({ stopped: [p.process] }),
  inject: (io, lab, node, p) => serviceCall(io, lab, node, ['stop', p.process, 'TERM']),
  undo: async (io, lab, node, p) => {
    await serviceUndo(io, lab, node, ['start', p.process]);
  },
});

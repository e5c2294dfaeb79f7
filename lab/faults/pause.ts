import { z } from 'zod';
import { afterLeaseExpiry, defineFault } from './fault.ts';
import { serviceCall, serviceUndo } from './service.ts';

export default defineFault({
  kind: 'pause',
  primitives: [],
  description: 'a node service frozen (SIGSTOP to its process tree); undo resumes it (SIGCONT)',
  args: [{ name: 'process', help: 'a process (service) name' }],
  params: z.strictObject({ process: z.string().min(1) }),
  describe: (node, p) => `pause ${p.process} (SIGSTOP) on ${node}`,
  budget: afterLeaseExpiry,
  trial: { params: (service) => ({ process: service }) },
  held: (p) => ({ stopped: [p.process] }),
  inject: (io, lab, node, p) => serviceCall(io, lab, node, ['signal', p.process, 'STOP']),
  undo: async (io, lab, node, p) => {
    await serviceUndo(io, lab, node, ['signal', p.process, 'CONT']);
  },
});

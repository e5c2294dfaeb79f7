import { z } from 'zod';
import { afterLeaseExpiry, defineFault } from './fault.ts';
import { serviceCall, serviceUndo } from './service.ts';

export default defineFault({
  kind: 'process-stop',
  primitives: [],
  description:
    'a node service stopped (SIGTERM, or SIGKILL to its whole process tree: a crash); in a trial, the announcer killed',
  args: [{ name: 'process', help: 'a process (service) name' }],
  options: [{ name: 'signal', help: 'TERM (default) or KILL' }],
  params: z.strictObject({ process: z.string().min(1), signal: z.enum(['TERM', 'KILL']).optional() }),
  describe: (node, p) => `stop ${p.process} (${p.signal ?? 'TERM'}) on ${node}`,
  budget: afterLeaseExpiry,
  trial: { params: (service) => ({ process: service, signal: 'KILL' as const }), waitReady: true },
  held: (p) => ({ stopped: [p.process] }),
  inject: (io, lab, node, p) => serviceCall(io, lab, node, ['stop', p.process, p.signal ?? 'TERM']),
  undo: async (io, lab, node, p) => {
    await serviceUndo(io, lab, node, ['start', p.process]);
  },
});

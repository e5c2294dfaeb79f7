// shell: runs a command line through /bin/sh (pipes, redirections, variables).
import { z } from 'zod';
import { q } from '../connection.ts';
import { defineModule } from '../module.ts';
import { runCommandLine } from './common.ts';

export default defineModule({
  name: 'shell',
  freeForm: 'cmd',
  args: z.strictObject({
    cmd: z.string().min(1),
    chdir: z.string().optional(),
    creates: z.string().optional(),
    removes: z.string().optional(),
    stdin: z.string().optional(),
    executable: z.string().default('/bin/sh'),
  }),
  async run(ctx, a) {
    return runCommandLine(ctx, `${q(a.executable)} -c ${q(a.cmd)}`, a);
  },
});

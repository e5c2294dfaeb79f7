// copy: a file with given content, or a controller-side file (src, relative to the playbook).
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { defineModule, failed } from '../module.ts';
import { ownership, putFile } from './common.ts';

export default defineModule({
  name: 'copy',
  args: z.strictObject({
    dest: z.string().min(1),
    content: z.string().optional(),
    src: z.string().optional(),
    ...ownership,
  }),
  async run(ctx, a) {
    if ((a.content === undefined) === (a.src === undefined)) return failed('give either content or src');
    let content = a.content;
    if (a.src !== undefined) {
      const path = isAbsolute(a.src) ? a.src : join(ctx.baseDir, 'files', a.src);
      try {
        content = readFileSync(path, 'utf8');
      } catch (e) {
        return failed(`src ${path}: ${(e as NodeJS.ErrnoException).code}`);
      }
    }
    return putFile(ctx, a.dest, content!, a);
  },
});

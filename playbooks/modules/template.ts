// template: renders a controller-side template (templates/NAME, Jinja subset) with the
// task's variables, then puts it in place like copy.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { render } from '../expr.ts';
import { defineModule, failed } from '../module.ts';
import { ownership, putFile } from './common.ts';

export default defineModule({
  name: 'template',
  args: z.strictObject({ src: z.string().min(1), dest: z.string().min(1), ...ownership }),
  async run(ctx, a) {
    const path = isAbsolute(a.src) ? a.src : join(ctx.baseDir, 'templates', a.src);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return failed(`src ${path}: ${(e as NodeJS.ErrnoException).code}`);
    }
    const out = render(text, ctx.vars);
    return putFile(ctx, a.dest, typeof out === 'string' ? out : JSON.stringify(out), a);
  },
});

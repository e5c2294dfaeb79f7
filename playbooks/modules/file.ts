// file: a path's state (file, directory, link, touch, absent) with mode and owner.
import { z } from 'zod';
import { q, stat } from '../connection.ts';
import { defineModule, failed } from '../module.ts';
import { ownership } from './common.ts';

export default defineModule({
  name: 'file',
  args: z.strictObject({
    path: z.string().min(1),
    state: z.enum(['file', 'directory', 'link', 'touch', 'absent']).default('file'),
    src: z.string().optional(),
    force: z.boolean().default(false),
    ...ownership,
  }),
  async run(ctx, a) {
    const p = q(a.path);
    const st = await stat(ctx.conn, a.path, ctx.become);
    const steps: string[] = [];
    const why: string[] = [];
    switch (a.state) {
      case 'absent':
        if (st.exists) {
          steps.push(`rm -rf -- ${p}`);
          why.push(`remove ${st.type}`);
        }
        break;
      case 'directory':
        if (st.exists && st.type !== 'directory')
          return failed(`${a.path} exists and is a ${st.type}, not a directory`);
        if (!st.exists) {
          steps.push(`mkdir -p -- ${p}`);
          why.push('create directory');
        }
        break;
      case 'file':
        if (!st.exists)
          return failed(`${a.path} does not exist; use state: touch to create it, or copy/template to give it content`);
        if (st.type !== 'file') return failed(`${a.path} is a ${st.type}, not a file`);
        break;
      case 'touch':
        if (!st.exists) {
          steps.push(`touch -- ${p}`);
          why.push('create file');
        }
        break;
      case 'link': {
        if (!a.src) return failed('state: link needs src (what the link points to)');
        if (st.exists && st.type !== 'link' && !a.force)
          return failed(`${a.path} exists and is a ${st.type}; set force: true to replace it with a link`);
        if (st.linkTarget !== a.src) {
          steps.push(`ln -sfn -- ${q(a.src)} ${p}`);
          why.push(st.exists ? `relink ${st.linkTarget ?? st.type} → ${a.src}` : `link → ${a.src}`);
        }
        break;
      }
    }
    if (a.state !== 'absent' && a.state !== 'link') {
      const mode = a.mode;
      if (mode && st.mode !== mode) {
        steps.push(`chmod ${q(mode)} -- ${p}`);
        why.push(`mode ${st.mode ?? 'new'} → ${mode}`);
      }
      const owner = `${a.owner ?? ''}${a.group ? `:${a.group}` : ''}`;
      if (owner && ((a.owner && st.owner !== a.owner) || (a.group && st.group !== a.group))) {
        steps.push(`chown ${q(owner)} -- ${p}`);
        why.push(`owner → ${owner}`);
      }
    }
    const result = { changed: steps.length > 0, path: a.path, state: a.state, msg: why.join(', ') || undefined };
    if (!result.changed || ctx.check) return result;
    const r = await ctx.conn.run(steps.join(' && '), { become: ctx.become });
    return r.rc === 0 ? result : failed(r.stderr.trim() || `exit ${r.rc}`, { path: a.path });
  },
});

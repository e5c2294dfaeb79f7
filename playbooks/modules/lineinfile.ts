// lineinfile: one line present (replacing the last line that matches regexp) or absent.
import { z } from 'zod';
import { readFile, stat, writeFile } from '../connection.ts';
import { defineModule, failed } from '../module.ts';
import { ownership } from './common.ts';

/** The new content, computed locally from the old one: Ansible's rules, in short. */
export function editLines(
  old: string,
  a: { line?: string; regexp?: string; state: 'present' | 'absent'; insertafter?: string; insertbefore?: string },
): string {
  const lines = old === '' ? [] : old.replace(/\n$/, '').split('\n');
  const re = a.regexp !== undefined ? new RegExp(a.regexp) : undefined;
  const hit = (l: string) => (re ? re.test(l) : l === a.line);
  if (a.state === 'absent') return join(lines.filter((l) => !hit(l)));
  const line = a.line!;
  let last = -1;
  lines.forEach((l, i) => {
    if (hit(l)) last = i;
  });
  if (last >= 0) {
    lines[last] = line;
    return join(lines);
  }
  if (re && lines.includes(line)) return join(lines);
  if (a.insertbefore !== undefined) {
    if (a.insertbefore === 'BOF') return join([line, ...lines]);
    const r = new RegExp(a.insertbefore);
    const i = lines.findIndex((l) => r.test(l));
    if (i >= 0) {
      lines.splice(i, 0, line);
      return join(lines);
    }
  } else if (a.insertafter !== undefined && a.insertafter !== 'EOF') {
    const r = new RegExp(a.insertafter);
    let i = -1;
    lines.forEach((l, j) => {
      if (r.test(l)) i = j;
    });
    if (i >= 0) {
      lines.splice(i + 1, 0, line);
      return join(lines);
    }
  }
  return join([...lines, line]);
}

const join = (lines: string[]) => (lines.length ? `${lines.join('\n')}\n` : '');

export default defineModule({
  name: 'lineinfile',
  args: z.strictObject({
    path: z.string().min(1),
    line: z.string().optional(),
    regexp: z.string().optional(),
    state: z.enum(['present', 'absent']).default('present'),
    insertafter: z.string().optional(),
    insertbefore: z.string().optional(),
    create: z.boolean().default(false),
    ...ownership,
  }),
  async run(ctx, a) {
    if (a.state === 'present' && a.line === undefined) return failed('state: present needs line');
    if (a.state === 'absent' && a.line === undefined && a.regexp === undefined)
      return failed('state: absent needs line or regexp');
    for (const [k, v] of [
      ['regexp', a.regexp],
      ['insertafter', a.insertafter],
      ['insertbefore', a.insertbefore],
    ] as const)
      if (v !== undefined && v !== 'EOF' && v !== 'BOF') {
        try {
          new RegExp(v);
        } catch (e) {
          return failed(`${k}: ${(e as Error).message}`);
        }
      }
    const old = await readFile(ctx.conn, a.path, ctx.become);
    if (old === undefined) {
      if (a.state === 'absent') return { changed: false, msg: `${a.path} does not exist` };
      if (!a.create) return failed(`${a.path} does not exist; set create: true to create it`);
    }
    const next = editLines(old ?? '', a);
    const st = old !== undefined && a.mode ? await stat(ctx.conn, a.path, ctx.become) : undefined;
    const modeChanged = !!a.mode && (old === undefined || st?.mode !== a.mode);
    const changed = next !== old || modeChanged;
    const result = {
      changed,
      msg:
        next !== old
          ? a.state === 'absent'
            ? 'line removed'
            : old?.split('\n').some((l) => a.regexp && new RegExp(a.regexp).test(l))
              ? 'line replaced'
              : 'line added'
          : modeChanged
            ? `mode → ${a.mode}`
            : undefined,
      ...(ctx.diff && next !== old ? { diff: [{ path: a.path, before: old ?? '', after: next }] } : {}),
    };
    if (!changed || ctx.check) return result;
    await writeFile(ctx.conn, a.path, next, {
      mode: a.mode ?? (old === undefined ? '0644' : undefined),
      owner: a.owner,
      group: a.group,
      become: ctx.become,
    });
    return result;
  },
});

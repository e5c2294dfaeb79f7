// Pieces several modules share: running a command line with creates/removes, and putting a
// whole file in place (copy, template, get_url) with mode/owner, check mode and diff.
import { z } from 'zod';
import { q, readFile, stat, writeFile } from '../connection.ts';
import type { ModuleResult, TaskContext } from '../module.ts';

export const modeSchema = z
  .union([z.string().regex(/^0?[0-7]{3,4}$/, 'an octal mode such as "0644"'), z.number().int()])
  .transform((m) => (typeof m === 'number' ? m.toString(8) : m).padStart(4, '0'));

export const ownership = { mode: modeSchema.optional(), owner: z.string().optional(), group: z.string().optional() };

export async function runCommandLine(
  ctx: TaskContext,
  line: string,
  a: { chdir?: string; creates?: string; removes?: string; stdin?: string },
): Promise<ModuleResult> {
  if (a.creates) {
    const r = await ctx.conn.run(`[ -e ${q(a.creates)} ]`, { become: ctx.become });
    if (r.rc === 0) return { changed: false, msg: `skipped, since ${a.creates} exists`, rc: 0 };
  }
  if (a.removes) {
    const r = await ctx.conn.run(`[ -e ${q(a.removes)} ]`, { become: ctx.become });
    if (r.rc !== 0) return { changed: false, msg: `skipped, since ${a.removes} does not exist`, rc: 0 };
  }
  if (ctx.check) return { changed: true, skipped: true, msg: 'would run (check mode)' };
  const r = await ctx.conn.run(a.chdir ? `cd ${q(a.chdir)} && ${line}` : line, { stdin: a.stdin, become: ctx.become });
  const stdout = r.stdout.replace(/\n$/, ''),
    stderr = r.stderr.replace(/\n$/, '');
  const out = {
    changed: true,
    rc: r.rc,
    stdout,
    stderr,
    stdout_lines: stdout ? stdout.split('\n') : [],
    stderr_lines: stderr ? stderr.split('\n') : [],
  };
  return r.rc === 0 ? out : { ...out, failed: true, msg: `non-zero return code ${r.rc}` };
}

/** Ensures dest has exactly this content and the given mode/owner. */
export async function putFile(
  ctx: TaskContext,
  dest: string,
  content: string | Buffer,
  a: { mode?: string; owner?: string; group?: string },
): Promise<ModuleResult> {
  const before = await stat(ctx.conn, dest, ctx.become);
  if (before.exists && before.type === 'directory')
    return { changed: false, failed: true, msg: `dest ${dest} is a directory; give a file path` };
  const { createHash } = await import('node:crypto');
  const sum = createHash('sha256').update(content).digest('hex');
  const contentChanged = !before.exists || before.sha256 !== sum;
  const modeChanged = !!a.mode && before.mode !== a.mode;
  const ownerChanged = (!!a.owner && before.owner !== a.owner) || (!!a.group && before.group !== a.group);
  const changed = contentChanged || modeChanged || ownerChanged;
  const result: ModuleResult = { changed, dest, checksum: sum };
  if (contentChanged && ctx.diff && typeof content === 'string') {
    const old = before.exists ? ((await readFile(ctx.conn, dest, ctx.become)) ?? '') : '';
    result.diff = [{ path: dest, before: old, after: content }];
  }
  if (modeChanged || ownerChanged)
    result.msg = [
      modeChanged && `mode ${before.mode} → ${a.mode}`,
      ownerChanged && `owner ${before.owner}:${before.group} → ${a.owner ?? before.owner}:${a.group ?? before.group}`,
    ]
      .filter(Boolean)
      .join(', ');
  if (!changed || ctx.check) return result;
  if (contentChanged) await writeFile(ctx.conn, dest, content, { ...a, become: ctx.become });
  else {
    const r = await ctx.conn.run(
      [
        a.mode && `chmod ${q(a.mode)} ${q(dest)}`,
        (a.owner || a.group) && `chown ${q(`${a.owner ?? ''}${a.group ? `:${a.group}` : ''}`)} ${q(dest)}`,
      ]
        .filter(Boolean)
        .join(' && '),
      { become: ctx.become },
    );
    if (r.rc !== 0) return { ...result, failed: true, msg: r.stderr.trim() };
  }
  return result;
}

// sysctl: a kernel setting, live and persisted in /etc/sysctl.d (one key per line, l2lab's file by default).
import { z } from 'zod';
import { q, readFile, writeFile } from '../connection.ts';
import { defineModule, failed } from '../module.ts';
import { editLines } from './lineinfile.ts';

export default defineModule({
  name: 'sysctl',
  args: z.strictObject({
    name: z.string().regex(/^[a-z0-9_.\-/]+$/i, 'a sysctl key such as net.ipv4.ip_forward'),
    value: z
      .union([z.string(), z.number(), z.boolean()])
      .transform((v) => (typeof v === 'boolean' ? (v ? '1' : '0') : String(v)))
      .optional(),
    state: z.enum(['present', 'absent']).default('present'),
    sysctl_file: z.string().default('/etc/sysctl.d/99-l2lab.conf'),
    sysctl_set: z.boolean().default(true),
    reload: z.boolean().default(true),
  }),
  async run(ctx, a) {
    if (a.state === 'present' && a.value === undefined) return failed('state: present needs value');
    const cur = await ctx.conn.run(`sysctl -n ${q(a.name)}`, { become: ctx.become });
    // In check mode a key may be missing only because an earlier task would load its kernel
    // module (br_netfilter's net.bridge.*): say what would happen instead of failing.
    if (cur.rc !== 0 && ctx.check && a.state === 'present')
      return {
        changed: true,
        msg: `would set ${a.name} = ${a.value} (the key does not exist yet: is its kernel module loaded by an earlier task?)`,
      };
    if (cur.rc !== 0) return failed(`unknown sysctl ${a.name}: ${cur.stderr.trim()}`);
    const live = cur.stdout.trim().replace(/\s+/g, ' ');
    const old = (await readFile(ctx.conn, a.sysctl_file, ctx.become)) ?? '';
    const key = a.name.replace(/\//g, '.');
    const re = `^\\s*${key.replace(/\./g, '[./]')}\\s*=`;
    const next =
      a.state === 'present'
        ? editLines(old, { line: `${key} = ${a.value}`, regexp: re, state: 'present' })
        : editLines(old, { regexp: re, state: 'absent' });
    const want = a.value?.trim().replace(/\s+/g, ' ');
    const liveChanged = a.state === 'present' && a.sysctl_set && live !== want;
    const fileChanged = next !== old;
    const changed = liveChanged || fileChanged;
    const msg =
      [liveChanged && `${a.name}: ${live} → ${want}`, fileChanged && `${a.sysctl_file} updated`]
        .filter(Boolean)
        .join('; ') || undefined;
    const result = {
      changed,
      msg,
      ...(ctx.diff && fileChanged ? { diff: [{ path: a.sysctl_file, before: old, after: next }] } : {}),
    };
    if (!changed || ctx.check) return result;
    if (fileChanged)
      await writeFile(ctx.conn, a.sysctl_file, next, { mode: old ? undefined : '0644', become: ctx.become });
    if (liveChanged || (fileChanged && a.reload && a.state === 'present')) {
      const r = await ctx.conn.run(`sysctl -q -w ${q(`${a.name}=${a.value}`)}`, { become: ctx.become });
      if (r.rc !== 0) return failed(`sysctl -w ${a.name}=${a.value}: ${r.stderr.trim()}`);
    }
    return result;
  },
});

// modprobe: a kernel module loaded (and persisted in /etc/modules-load.d) or unloaded.
// On the netns lab the kernel is the host's: loading a module there loads it for the host.
import { z } from 'zod';
import { q, readFile, writeFile } from '../connection.ts';
import { defineModule, failed } from '../module.ts';

export default defineModule({
  name: 'modprobe',
  args: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a kernel module name such as br_netfilter'),
    state: z.enum(['present', 'absent']).default('present'),
    params: z.string().default(''),
    persistent: z.enum(['present', 'absent', 'disabled']).default('disabled'),
  }),
  async run(ctx, a) {
    const mod = a.name.replace(/-/g, '_');
    const loadedNow =
      (await ctx.conn.run(`grep -q ${q(`^${mod} `)} /proc/modules || [ -d /sys/module/${q(mod)} ]`)).rc === 0;
    const file = `/etc/modules-load.d/${a.name}.conf`;
    const persisted = a.persistent === 'disabled' ? undefined : await readFile(ctx.conn, file, ctx.become);
    const wantFile = `${a.name}\n`;
    const loadChange = a.state === 'present' ? !loadedNow : loadedNow;
    const fileChange =
      a.persistent === 'present' ? persisted !== wantFile : a.persistent === 'absent' ? persisted !== undefined : false;
    const changed = loadChange || fileChange;
    const msg =
      [
        loadChange && (a.state === 'present' ? `load ${a.name}` : `unload ${a.name}`),
        fileChange && (a.persistent === 'present' ? `write ${file}` : `remove ${file}`),
      ]
        .filter(Boolean)
        .join(', ') || undefined;
    const result = {
      changed,
      msg,
      ...(ctx.diff && fileChange
        ? { diff: [{ path: file, before: persisted ?? '', after: a.persistent === 'present' ? wantFile : '' }] }
        : {}),
    };
    if (!changed || ctx.check) return result;
    if (loadChange) {
      const r = await ctx.conn.run(
        a.state === 'present' ? `modprobe ${q(a.name)} ${a.params}` : `modprobe -r ${q(a.name)}`,
        { become: ctx.become },
      );
      if (r.rc !== 0)
        return failed(
          `modprobe ${a.state === 'absent' ? '-r ' : ''}${a.name} failed (rc ${r.rc}): ${r.stderr.trim()}`,
          { rc: r.rc },
        );
    }
    if (fileChange) {
      if (a.persistent === 'present') await writeFile(ctx.conn, file, wantFile, { mode: '0644', become: ctx.become });
      else await ctx.conn.run(`rm -f ${q(file)}`, { become: ctx.become });
    }
    return result;
  },
});

// kubectl_apply: server-side apply of a manifest (file, directory, list of files or inline
// definition) on a node with kubectl; reports changed only when `kubectl diff` sees a change. A
// list is one diff and one apply, in its order (`-f a -f b`), as a bundle file is: under emulation
// each kubectl call costs seconds.

import { stringify } from 'yaml';
import { z } from 'zod';
import { q } from '../connection.ts';
import { defineModule, failed } from '../module.ts';

export default defineModule({
  name: 'kubectl_apply',
  args: z.strictObject({
    src: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    definition: z
      .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.record(z.string(), z.unknown()))])
      .optional(),
    kubeconfig: z.string().default('/etc/kubernetes/admin.conf'),
    namespace: z.string().optional(),
    field_manager: z.string().default('l2lab'),
    force_conflicts: z.boolean().default(false),
  }),
  async run(ctx, a) {
    if ((a.src === undefined) === (a.definition === undefined))
      return failed('give either src (a file, a directory or a list of files on the host) or definition');
    const which = await ctx.conn.run('command -v kubectl');
    if (which.rc !== 0) return failed(`kubectl not found on ${ctx.host.name}; install it first (cluster playbooks)`);
    if ((await ctx.conn.run(`[ -r ${q(a.kubeconfig)} ]`, { become: ctx.become })).rc !== 0)
      return failed(
        `kubeconfig ${a.kubeconfig} not found on ${ctx.host.name}; is this the control plane (kubeadm init done)? Set kubeconfig to ` +
          `another file`,
      );
    const stdin =
      a.definition === undefined
        ? undefined
        : typeof a.definition === 'string'
          ? a.definition
          : Array.isArray(a.definition)
            ? a.definition.map((d) => stringify(d)).join('---\n')
            : stringify(a.definition);
    const srcs = a.src === undefined ? [] : [a.src].flat();
    const source = srcs.length ? srcs.map((f) => `-f ${q(f)}${f.endsWith('/') ? ' -R' : ''}`).join(' ') : '-f -';
    const common =
      `--kubeconfig ${q(a.kubeconfig)}${a.namespace ? ` -n ${q(a.namespace)}` : ''} --server-side ` +
      `--field-manager=${q(a.field_manager)}${a.force_conflicts ? ' --force-conflicts' : ''} ${source}`;
    const diff = await ctx.conn.run(`kubectl diff ${common}`, { stdin, become: ctx.become });
    if (diff.rc > 1) return failed(`kubectl diff failed (rc ${diff.rc}): ${diff.stderr.trim()}`, { rc: diff.rc });
    const changed = diff.rc === 1;
    const result = {
      changed,
      ...(ctx.diff && changed ? { diff: [{ path: srcs.join(' ') || 'definition', unified: diff.stdout }] } : {}),
    };
    if (!changed || ctx.check) return result;
    const r = await ctx.conn.run(`kubectl apply ${common}`, { stdin, become: ctx.become });
    return r.rc === 0
      ? { ...result, stdout: r.stdout.trim() }
      : failed(`kubectl apply failed (rc ${r.rc}): ${r.stderr.trim()}`, { rc: r.rc });
  },
});

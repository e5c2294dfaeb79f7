// wait_for: a port open (or closed), a file present (optionally with text) or gone, or a
// command succeeding; polled on the host itself in one round trip.
import { z } from 'zod';
import { q } from '../connection.ts';
import { defineModule, failed } from '../module.ts';

export default defineModule({
  name: 'wait_for',
  args: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).optional(),
    path: z.string().optional(),
    search_regex: z.string().optional(),
    command: z.string().optional(),
    state: z.enum(['started', 'stopped', 'present', 'absent']).default('started'),
    timeout: z.number().positive().default(300),
    delay: z.number().nonnegative().default(0),
    sleep: z.number().positive().default(0.2),
  }),
  async run(ctx, a) {
    const targets = [a.port, a.path, a.command].filter((x) => x !== undefined).length;
    if (targets !== 1) return failed('give exactly one of port, path or command');
    let test: string;
    if (a.port !== undefined) {
      const open = `timeout 1 bash -c ${q(`</dev/tcp/${a.host}/${a.port}`)} 2>/dev/null`;
      test = a.state === 'stopped' || a.state === 'absent' ? `! ${open}` : open;
    } else if (a.path !== undefined) {
      const present = a.search_regex ? `grep -qE ${q(a.search_regex)} ${q(a.path)} 2>/dev/null` : `[ -e ${q(a.path)} ]`;
      test = a.state === 'absent' || a.state === 'stopped' ? `! ${present}` : present;
    } else test = `sh -c ${q(a.command!)} >/dev/null 2>&1`;
    const script =
      `sleep ${a.delay}; end=$(( $(date +%s%N) / 1000000 + ${Math.round(a.timeout * 1000)} )); ` +
      `while :; do if ${test}; then exit 0; fi; [ $(( $(date +%s%N) / 1000000 )) -ge $end ] && exit 1; sleep ${a.sleep}; done`;
    const started = Date.now();
    const r = await ctx.conn.run(script, { become: ctx.become });
    const what =
      a.port !== undefined
        ? `port ${a.host}:${a.port} ${a.state}`
        : a.path !== undefined
          ? `${a.path} ${a.state === 'started' ? 'present' : a.state === 'stopped' ? 'absent' : a.state}${
              a.search_regex ? ` matching /${a.search_regex}/` : ''
            }`
          : `command ${JSON.stringify(a.command)} succeeding`;
    if (r.rc !== 0)
      return failed(`timed out after ${a.timeout} s waiting for ${what}`, { elapsed: (Date.now() - started) / 1000 });
    return { changed: false, elapsed: (Date.now() - started) / 1000, msg: what };
  },
});

// get_url: a file from a URL (http, https, file://) or a path on the controller, checked
// against a checksum. The controller fetches, so nodes need no internet and offline paths work.
import { createHash } from 'node:crypto';
import { readFile as readLocal } from 'node:fs/promises';
import { z } from 'zod';
import { stat } from '../connection.ts';
import { defineModule, failed } from '../module.ts';
import { ownership, putFile } from './common.ts';

export default defineModule({
  name: 'get_url',
  args: z.strictObject({
    url: z.string().min(1),
    dest: z.string().min(1),
    checksum: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits>')
      .optional(),
    force: z.boolean().default(false),
    timeout: z.number().positive().default(30),
    ...ownership,
  }),
  async run(ctx, a) {
    const want = a.checksum?.slice('sha256:'.length);
    const st = await stat(ctx.conn, a.dest, ctx.become);
    if (st.exists && !a.force && (want === undefined || st.sha256 === want) && !a.mode && !a.owner && !a.group)
      return {
        changed: false,
        dest: a.dest,
        msg: want ? 'checksum matches' : 'dest exists (set force: true to fetch again)',
      };
    // Check mode changes nothing and fetches nothing (a lab may be offline, as Ansible's get_url).
    if (ctx.check) return { changed: true, dest: a.dest, msg: `would download ${a.url}` };
    let body: Buffer;
    try {
      if (/^https?:\/\//.test(a.url)) {
        const res = await fetch(a.url, { signal: AbortSignal.timeout(a.timeout * 1000) });
        if (!res.ok) return failed(`GET ${a.url}: HTTP ${res.status}`);
        body = Buffer.from(await res.arrayBuffer());
      } else body = await readLocal(a.url.startsWith('file://') ? new URL(a.url) : a.url);
    } catch (e) {
      return failed(`cannot fetch ${a.url}: ${(e as Error).message}`);
    }
    const got = createHash('sha256').update(body).digest('hex');
    if (want && got !== want) return failed(`checksum mismatch for ${a.url}: got sha256:${got}, want ${a.checksum}`);
    const r = await putFile(ctx, a.dest, body, a);
    return { ...r, url: a.url };
  },
});

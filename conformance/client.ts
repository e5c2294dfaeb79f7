// What checks do from a host of the lab as a client: an HTTP GET of a VIP, and waiting until every
// VIP has one responder. Shared so that checks ask the same way and judge the same figures.
import { HOSTNAME } from '../playbooks/cluster/manifests.ts';
import type { Vip } from './addresses/index.ts';
import { responders } from './analyze.ts';
import type { Context } from './context.ts';

/** How long a client retries a GET before it says the VIP gave no HTTP answer. */
export const HTTP_WITHIN_MS = 2000;

/**
 * `from` GETs http://ip/ until the backend answers or HTTP_WITHIN_MS (plus the subject's slack)
 * has passed: the node that answered (the backend's body is its node's name) and the time taken.
 */
export async function httpGet(ctx: Context, from: string, ip: string): Promise<{ by?: string; ms: number }> {
  const t0 = Date.now();
  const slack = ctx.subject.extraSlackMs; // an emulated lab's processing time
  const url = ip.includes(':') ? `http://[${ip}]/` : `http://${ip}/`;
  while (Date.now() - t0 < HTTP_WITHIN_MS + slack) {
    const r = await ctx.provider.exec(ctx.lab, from, [
      'curl',
      '-sg',
      '-m',
      String((500 + slack) / 1000),
      '-H',
      `Host: ${HOSTNAME}`,
      url,
    ]);
    if (r.exitCode === 0 && r.stdout.trim()) return { by: r.stdout.trim(), ms: Date.now() - t0 };
  }
  return { ms: Date.now() - t0 };
}

/**
 * Probes until every VIP's IPv4 address is answered by exactly one MAC, or timeoutMs: `ok`, and who
 * answered each (the last probe's, when it never settled).
 */
export async function holders(ctx: Context, vips: Vip[], timeoutMs: number, intervalMs = ctx.probeIntervalMs) {
  const end = Date.now() + timeoutMs;
  let last = new Map<string, string[]>();
  while (Date.now() < end) {
    const { events } = await ctx.probe('settle-holders', Math.max(500, 3 * intervalMs), {
      vips,
      keep: false,
      intervalMs,
    });
    last = new Map(vips.map((v) => [v.ipv4!, responders(events, v.ipv4!, 'arp')]));
    if ([...last.values()].every((m) => m.length === 1)) return { ok: true as const, by: last };
    await new Promise((r) => setTimeout(r, 300));
  }
  return { ok: false as const, by: last };
}

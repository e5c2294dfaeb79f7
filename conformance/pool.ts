// The lab's CiliumLoadBalancerIPPool as the suite reads it — Cilium's documented reading of the
// lab file's blocks (lab/pool.ts), not the reference announcer's IPAM (a bug there must not hide itself).
import { type Family, formatIp } from '../lab/ip.ts';
import { blockRanges, inBlocks, ipv4Count } from '../lab/pool.ts';
import type { Lab } from '../lab/types.ts';

export type { PoolRange } from '../lab/pool.ts';

export const poolRanges = (lab: Lab) => blockRanges(lab.pool.blocks);

/** IPv4 addresses the lab's pool can hand out. */
export const poolSize = (lab: Lab): number => ipv4Count(lab.pool.blocks);

export const inPool = (lab: Lab, ip: string): boolean => inBlocks(lab.pool.blocks, ip);

/** The lowest address of a family the pool hands out: what a single service gets. */
export function firstPoolAddress(lab: Lab, family: Family): string | undefined {
  const r = poolRanges(lab)
    .filter((x) => x.family === family)
    .sort((a, b) => (a.first < b.first ? -1 : 1))[0];
  return r ? formatIp(family, r.first) : undefined;
}

/** The pool's first n IPv4 addresses, lowest first: what n services get from it, one each. */
export function poolAddresses4(lab: Lab, n: number): string[] {
  const out: string[] = [];
  for (const r of poolRanges(lab)
    .filter((x) => x.family === 4)
    .sort((a, b) => (a.first < b.first ? -1 : 1)))
    for (let a = r.first; a <= r.last && out.length < n; a++) out.push(formatIp(4, a));
  return out;
}

// The lab's CiliumLoadBalancerIPPool as the suite reads it — its own reading, from Cilium's
// documentation, not the reference announcer's IPAM (a bug there must not hide itself): a block
// is a CIDR or a start/stop range, and since Cilium 1.16 every address of a CIDR is allocatable
// unless allowFirstLastIPs: No (lab pools do not set it; cilium/cilium#33151).
import { cidrRange, type Family, formatIp, parseCidr, parseIp } from '../lab/ip.ts';
import type { Lab } from '../lab/types.ts';

export interface PoolRange {
  family: Family;
  first: bigint;
  last: bigint;
}

export function poolRanges(lab: Lab): PoolRange[] {
  return lab.pool.blocks.flatMap((b): PoolRange[] => {
    if (b.cidr) {
      const c = parseCidr(b.cidr, false);
      return typeof c === 'string' ? [] : [cidrRange(c)];
    }
    const s = parseIp(b.start ?? '');
    const e = parseIp(b.stop ?? b.start ?? '');
    return s && e && s.family === e.family ? [{ family: s.family, first: s.value, last: e.value }] : [];
  });
}

/** IPv4 addresses the lab's pool can hand out. */
export function poolSize(lab: Lab): number {
  return poolRanges(lab)
    .filter((r) => r.family === 4)
    .reduce((n, r) => n + Number(r.last - r.first + 1n), 0);
}

export function inPool(lab: Lab, ip: string): boolean {
  const p = parseIp(ip);
  return !!p && poolRanges(lab).some((r) => r.family === p.family && p.value >= r.first && p.value <= r.last);
}

/** The lowest address of a family the pool hands out: what a single service gets. */
export function firstPoolAddress(lab: Lab, family: Family): string | undefined {
  const r = poolRanges(lab)
    .filter((x) => x.family === family)
    .sort((a, b) => (a.first < b.first ? -1 : 1))[0];
  return r ? formatIp(family, r.first) : undefined;
}

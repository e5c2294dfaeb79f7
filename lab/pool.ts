// A pool's blocks as address ranges, read as Cilium's documentation reads them: a block is a CIDR
// or a start/stop range, and since Cilium 1.16 every address of a CIDR is allocatable unless
// allowFirstLastIPs: No (lab pools do not set it; cilium/cilium#33151).
import { cidrRange, type Family, parseCidr, parseIp } from './ip.ts';
import type { PoolBlock } from './types.ts';

export interface PoolRange {
  family: Family;
  first: bigint;
  last: bigint;
}

export function blockRanges(blocks: PoolBlock[]): PoolRange[] {
  return blocks.flatMap((b): PoolRange[] => {
    if (b.cidr) {
      const c = parseCidr(b.cidr, false);
      return typeof c === 'string' ? [] : [cidrRange(c)];
    }
    const s = parseIp(b.start ?? '');
    const e = parseIp(b.stop ?? b.start ?? '');
    return s && e && s.family === e.family ? [{ family: s.family, first: s.value, last: e.value }] : [];
  });
}

/** IPv4 addresses the blocks hold: the most services that can get an IPv4 address from them. */
export const ipv4Count = (blocks: PoolBlock[]): number =>
  blockRanges(blocks)
    .filter((r) => r.family === 4)
    .reduce((n, r) => n + Number(r.last - r.first + 1n), 0);

/** Whether the blocks hold this address. */
export function inBlocks(blocks: PoolBlock[], ip: string): boolean {
  const p = parseIp(ip);
  return !!p && blockRanges(blocks).some((r) => r.family === p.family && p.value >= r.first && p.value <= r.last);
}

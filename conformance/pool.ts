// The lab's pool as the suite sees it.
import { poolSpans } from '../agent/ipam.ts';
import type { Lab } from '../lab/types.ts';

/** IPv4 addresses the lab's pool can hand out. */
export function poolSize(lab: Lab): number {
  return poolSpans({ name: lab.pool.name, blocks: lab.pool.blocks, allowFirstLastIPs: false, disabled: false })
    .filter((s) => s.family === 4)
    .reduce((n, s) => n + Number(s.last - s.first + 1n), 0);
}

import { poolSpans } from '../../agent/ipam.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'scale',
  title: 'Scale: 50 VIPs',
  description: 'With 50 VIPs, power off the node that holds the most: every VIP is answered again within 1.5× the single-VIP budget; the distribution of leases over nodes is reported.',
  features: ['lease-store'],
  async run(ctx) {
    const v4 = poolSpans({ name: ctx.lab.pool.name, blocks: ctx.lab.pool.blocks, allowFirstLastIPs: false, disabled: false }).filter((s) => s.family === 4).reduce((n, s) => n + Number(s.last - s.first + 1n), 0);
    if (ctx.vips.length < 50)
      return { status: 'skipped', reason: `needs 50 VIPs; this run announces ${ctx.vips.length} (pool ${ctx.lab.pool.name} has ${v4} IPv4 addresses; install the subject with 49 extra services and a pool of ≥ 50)` };
    return { status: 'skipped', reason: 'scale trials are not implemented yet' };
  },
});

import { matches } from '../../lab/selector.ts';
import { defineCheck } from '../check.ts';
import { inPool } from '../pool.ts';

export default defineCheck({
  id: 'pool-address',
  title: 'Address from the pool',
  description:
    'Each VIP (IPv4 and IPv6) comes from the CiliumLoadBalancerIPPool, whose serviceSelector selects the service.',
  features: [],
  async run(ctx) {
    const pool = ctx.lab.pool;
    const problems: string[] = [],
      details: string[] = [];
    for (const v of ctx.vips) {
      for (const [fam, ip] of [
        ['ipv4', v.ipv4],
        ['ipv6', v.ipv6],
      ] as const) {
        if (!ctx.subject.has(fam)) continue;
        if (!ip) {
          problems.push(`${v.service}: no ${fam} address`);
          continue;
        }
        const inside = inPool(ctx.lab, ip);
        (inside ? details : problems).push(`${v.service}: ${ip} ${inside ? 'is' : 'is not'} in pool ${pool.name}`);
      }
      if (!matches(pool.serviceSelector, v.labels))
        problems.push(
          `${v.service}: labels ${JSON.stringify(v.labels)} are not selected by the pool's serviceSelector`,
        );
    }
    return problems.length ? { status: 'failed', reason: problems.join('; '), details } : { status: 'passed', details };
  },
});

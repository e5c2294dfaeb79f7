import { poolSpans } from '../../agent/ipam.ts';
import { parseIp } from '../../lab/ip.ts';
import { matches } from '../../lab/selector.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'pool-address',
  title: 'Address from the pool',
  description:
    'Each VIP (IPv4 and IPv6) comes from the CiliumLoadBalancerIPPool, whose serviceSelector selects the service.',
  features: [],
  async run(ctx) {
    const pool = {
      name: ctx.lab.pool.name,
      blocks: ctx.lab.pool.blocks,
      serviceSelector: ctx.lab.pool.serviceSelector,
      allowFirstLastIPs: false,
      disabled: false,
    };
    const spans = poolSpans({ ...pool, allowFirstLastIPs: true });
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
        const p = parseIp(ip)!;
        const inside = spans.some((s) => s.family === p.family && p.value >= s.first && p.value <= s.last);
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

import { HOSTNAME } from '../../playbooks/cluster/manifests.ts';
import { defineCheck } from '../check.ts';

export default defineCheck({
  id: 'http',
  title: 'HTTP through the VIP',
  description: `GET / with Host ${HOSTNAME} through the VIP reaches a node's backend (200, the node's name); another Host gets 404.`,
  features: ['http'],
  async run(ctx) {
    const details: string[] = [],
      problems: string[] = [];
    for (const ip of [ctx.main.ipv4, ctx.main.ipv6].filter((x): x is string => !!x)) {
      if (!ctx.subject.has(ip.includes(':') ? 'ipv6' : 'ipv4')) continue;
      const url = `http://${ip.includes(':') ? `[${ip}]` : ip}/`;
      const ok = await ctx.provider.exec(ctx.lab, ctx.lab.client.name, [
        'curl',
        '-s',
        '-g',
        '-m',
        '3',
        '-w',
        '\n%{http_code}',
        '-H',
        `Host: ${HOSTNAME}`,
        url,
      ]);
      const lines = ok.stdout.split('\n');
      const code = lines.pop()!.trim(),
        body = lines.join('\n').trim();
      const eligible = ctx.eligible.map((h) => h.name);
      details.push(`${url} Host ${HOSTNAME} → ${code} ${body}`);
      if (code !== '200' || !eligible.includes(body))
        problems.push(`${url}: expected 200 from one of ${eligible.join(', ')}, got ${code} "${body}"`);
      const other = await ctx.provider.exec(ctx.lab, ctx.lab.client.name, [
        'curl',
        '-s',
        '-g',
        '-m',
        '3',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-H',
        'Host: other.example',
        url,
      ]);
      details.push(`${url} Host other.example → ${other.stdout}`);
      if (other.stdout !== '404') problems.push(`${url} with another Host: expected 404, got ${other.stdout}`);
    }
    return problems.length ? { status: 'failed', reason: problems.join('; '), details } : { status: 'passed', details };
  },
});

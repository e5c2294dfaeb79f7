import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../../lab/paths.ts';
import { defineCheck } from '../check.ts';
import type { ProbeResult } from '../events.ts';

export default defineCheck({
  id: 'management-silent',
  title: 'No answer on the management network',
  description:
    "ARP requests for the VIPs sent on the management network get no answer: announcements stay on the policy's interfaces.",
  features: ['ipv4'],
  async run(ctx) {
    const status = await ctx.provider.status(ctx.lab, { probe: false });
    const br = status.management.bridge;
    if (!br)
      return {
        status: 'skipped',
        reason: `the ${ctx.lab.provider} provider has no management bridge on this host to probe from`,
      };
    const mac = readFileSync(`/sys/class/net/${br}/address`, 'utf8').trim();
    const vips = ctx.vips.flatMap((v) => (v.ipv4 ? ['--vip', v.ipv4] : []));
    const r = await execa(
      'node',
      [
        join(repoRoot, 'dist', 'probe.mjs'), // built when the suite started: no rebuild mid-run
        '--iface',
        br,
        '--mac',
        mac,
        '--ipv4',
        status.management.hostAddress,
        ...vips,
        '--interval-ms',
        '50',
        '--duration-ms',
        '1000',
        '--pcap',
        join(ctx.outDir, 'management.pcap'),
        '--any-answer', // the host has one address there: any answer at all is the failure
      ],
      { reject: false },
    );
    if (r.exitCode !== 0) return { status: 'failed', reason: `the management prober failed: ${r.stderr}` };
    const res = JSON.parse(r.stdout) as ProbeResult;
    const answers = res.events.filter((e) => e.kind === 'arp-reply');
    const sent = res.events.filter((e) => e.kind === 'arp-request').length;
    const details = [
      `${sent} ARP requests on ${br} (management network) for ${vips.filter((_, i) => i % 2).join(', ')}`,
    ];
    if (!sent) return { status: 'failed', reason: `no ARP request went out on ${br}: nothing was measured`, details };
    if (answers.length)
      return {
        status: 'failed',
        reason: `answered on the management network by ${[...new Set(answers.map((e) => ctx.nodeOfMac(e.mac)))].join(', ')}`,
        details,
      };
    return { status: 'passed', details };
  },
});

// A switch that forgets MACs (MetalLB #2910, keepalived #20): real switches age their forwarding
// table (often 300 s, some far less), and many drop unicast for a MAC they do not know, while a
// client or router keeps its ARP entry for minutes. A holder that sends nothing for longer than the
// ageing time is forgotten, and the client's frames to its MAC go nowhere until the client's entry
// expires. Cilium announces once, at takeover (maintainer comment on cilium/cilium #39933);
// MetalLB added periodic announcements in #3125, keepalived has vrrp_garp_master_refresh.

import { switchNic } from '../../lab/hosts.ts';
import { responders } from '../analyze.ts';
import { afterPowerOff, defineCheck } from '../check.ts';
import type { ProbeEvent } from '../events.ts';

/** How long the client keeps its ARP entry while the check runs: a gateway's minutes, not Linux's 30 s. */
const CLIENT_REACHABLE_MS = 600_000;
/** How long after the quiet period the client's HTTP must be answered (its prober asks every 50 ms, 150 ms timeout). */
const ANSWER_WITHIN_MS = 1000;
const HTTP_WINDOW_MS = 2000;

/** The MAC a frame had on the wire (a VRRP virtual MAC the suite names after its node keeps it apart). */
const wire = (e: ProbeEvent) => e.wireMac ?? e.mac;

/** What the client saw from the holder, by kind (gratuitous ARP, unsolicited NA, VRRP advertisements). */
function seenFrom(events: ProbeEvent[]): string {
  const by = new Map<string, number>();
  for (const e of events) by.set(e.kind, (by.get(e.kind) ?? 0) + 1);
  const named: Record<string, string> = {
    garp: 'gratuitous ARP',
    'unsolicited-na': 'unsolicited NA',
    vrrp: 'VRRP advertisement',
  };
  const parts = [...by].filter(([k]) => named[k]).map(([k, n]) => `${n} ${named[k]}${n > 1 ? 's' : ''}`);
  return parts.length ? parts.join(', ') : 'nothing';
}

export default defineCheck({
  id: 'quiet-switch',
  title: 'Answered behind a switch that forgets MACs',
  description:
    'On a lab switch that ages its table (switch.ageingTime) and drops unknown unicast (switch.unknownUnicast: drop), with the ' +
    "client's ARP entry kept for minutes as a gateway's: after a quiet period of twice the ageing time, the client's HTTP to the VIP " +
    'is answered within 1 s — at steady state and after a power-off failover. Reports what the client saw from the holder meanwhile ' +
    '(periodic announcements, VRRP advertisements, nothing).',
  features: ['ipv4', 'http'],
  injects: ['power-off'],
  // Subjects that can send periodic announcements get them at a third of the ageing time
  // (keepalived.conf(5) suggests a third of the switch's cache time for vrrp_garp_master_refresh).
  setup: {
    variable: 'refresh',
    off: 0,
    fits: (lab) => lab.switch.ageingTime !== undefined,
    value: (lab) => Math.round(((lab.switch.ageingTime ?? 0) * 1000) / 3),
  },
  async run(ctx) {
    const { ageingTime, unknownUnicast } = ctx.lab.switch;
    if (ageingTime === undefined || unknownUnicast !== 'drop')
      return {
        status: 'skipped',
        reason:
          'the lab switch floods unknown unicast or keeps MACs 300 s: set switch.ageingTime (e.g. 5) and switch.unknownUnicast: drop ' +
          'in the lab file (netns provider)',
      };
    const quietMs = 2 * ageingTime * 1000 + 1000; // a Linux bridge drops an entry between one and two ageing times after its last frame
    const client = ctx.lab.client.name;
    const nic = switchNic(ctx.lab.client).name;
    const key = `net.ipv4.neigh.${nic}.base_reachable_time_ms`;
    const before = (await ctx.provider.exec(ctx.lab, client, ['sysctl', '-n', key])).stdout.trim();
    const problems: string[] = [];
    const details: string[] = [];
    const figures: Record<string, number | string | null> = { quiet_ms: quietMs };

    const phase = async (step: string) => {
      await ctx.stableHolder();
      // Who answers, by MAC (a virtual MAC for FRR); this probe's answers teach the switch the holder's port.
      const look = await ctx.probe(`quiet-${step}-holder`, 400);
      const ip = ctx.main.ipv4!;
      const macs = responders(look.events, ip, 'arp');
      if (macs.length !== 1) {
        problems.push(
          `${step}: ${macs.length ? `${macs.length} MACs` : 'nobody'} answered ARP before the quiet period`,
        );
        return;
      }
      const holder = ctx.nodeOfMac(macs[0]);
      // The client's frames go to the MAC of the answers on the wire: the switch must keep that one.
      const answer = look.events.find((e) => e.kind === 'arp-reply' && e.vip === ip && e.mac === macs[0]);
      const mac = (answer && wire(answer)) ?? macs[0]!;
      // The client's own cache learns the holder (its HTTP resolves the VIP), then nothing asks for it.
      await ctx.probe(`quiet-${step}-warm`, 500, { http: true, listenOnly: true });
      const quiet = await ctx.probe(`quiet-${step}-quiet`, quietMs, { listenOnly: true });
      const fromHolder = quiet.events.filter((e) => wire(e) === mac);
      const seen = seenFrom(fromHolder);
      figures[`${step}.holder_frames`] = fromHolder.length;
      const test = await ctx.probe(`quiet-${step}-http`, HTTP_WINDOW_MS, { http: true, listenOnly: true });
      const http = test.events.filter((e) => e.kind === 'http-ok' || e.kind === 'http-fail');
      const firstOk = http.find((e) => e.kind === 'http-ok');
      const start = http[0]?.t;
      const okAfterMs = firstOk && start !== undefined ? Math.round((firstOk.t - start) / 1000) : null;
      figures[`${step}.http_first_ok_ms`] = okAfterMs;
      details.push(
        `${step}: ${holder} (${mac}) held the VIP; in ${quietMs} ms of quiet the client saw from it: ${seen}; then the client's HTTP ` +
          (okAfterMs === null ? `was not answered in ${HTTP_WINDOW_MS} ms` : `was answered after ${okAfterMs} ms`),
      );
      // A fail-back during the quiet period would time the returning node, not this holder.
      const servedBy = [...new Set(http.flatMap((e) => (e.kind === 'http-ok' && e.node ? [e.node] : [])))];
      if (servedBy.some((n) => n !== holder?.split('/')[0]))
        details.push(
          `${step}: HTTP answered by ${servedBy.join(', ')}, not ${holder}: the VIP moved during the quiet period`,
        );
      if (!http.length) problems.push(`${step}: the client sent no HTTP request: nothing was measured`);
      else if (okAfterMs === null || okAfterMs > ANSWER_WITHIN_MS)
        problems.push(
          `${step}: ${okAfterMs === null ? `no HTTP answer in ${HTTP_WINDOW_MS} ms` : `HTTP answered only after ${okAfterMs} ms`} ` +
            `after ${quietMs} ms of quiet: the switch (ageing ${ageingTime} s, unknown unicast dropped) had forgotten ${holder}'s MAC ` +
            `— the client saw ${seen} from it — while the client's ARP entry still pointed there`,
        );
    };

    await ctx.provider.exec(ctx.lab, client, ['sysctl', '-qw', `${key}=${CLIENT_REACHABLE_MS}`]);
    try {
      await phase('steady');
      // Right after a takeover the new holder must be kept too: a power-off of its own, then the same.
      const trial = await afterPowerOff(ctx);
      if (!trial.arp?.newNode)
        problems.push(`after a power-off no other node answered ARP (${trial.problems.join('; ')})`);
      else await phase('after-failover');
    } finally {
      await ctx.provider.exec(ctx.lab, client, ['sysctl', '-qw', `${key}=${before}`]);
    }
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});

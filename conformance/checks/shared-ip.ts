// Services sharing one address are one VIP on the wire: exactly one node may answer for it.
// Cilium #48419: one election per service, so two nodes answered for a shared address.
import type { Fault } from '../../lab/types.ts';
import { type Family, responders, splitBrain } from '../analyze.ts';
import { allTrials, defineCheck } from '../check.ts';
import { NO_SHARED_LABEL, SHARING_KEY, sharedSetup } from '../shared-setup.ts';

/** Where the suite's sharing services live (announcer-manifests.yaml.j2): after kube-system, so the Gateway comes first on the address. */
const SHARED_SERVICE = 'l2lab-shared/shared';

export default defineCheck({
  id: 'shared-ip',
  title: 'Shared IP: one answer for services sharing an address',
  description:
    `Two more services carry the Gateway's address: one through an LB-IPAM sharing key (lbipam.cilium.io/sharing-key), one ` +
    `as an external IP announced by a policy of its own. Exactly one MAC answers ARP and one NDP for the address; when the holder leaves ` +
    `the second policy alone (label ${NO_SHARED_LABEL}, subjects with node-labels) and when it is powered off (the failover ` +
    `check's power-off trials, where it ran them), still exactly one node answers, no probe answered by two.`,
  features: ['ip-sharing'],
  injects: ['relabel', 'power-off'],
  // The sharing services carry the main VIP's address (shared-setup.ts says how); before the subject
  // has chosen it, only the sharing key (the suite installs again once it is known).
  setup: {
    variable: 'shared',
    off: false,
    needsMain: true,
    value: (lab, main) => (main ? sharedSetup(lab, main) : { sharingKey: SHARING_KEY }),
  },
  async run(ctx, opts) {
    const v = ctx.main;
    const addr = [v.ipv4, v.ipv6].filter(Boolean).join(' and ');
    const apart = ctx.vips.find((o) => o.service === SHARED_SERVICE);
    if (apart)
      return {
        status: 'failed',
        reason:
          `${SHARED_SERVICE} got ${[apart.ipv4, apart.ipv6].filter(Boolean).join(' and ')}, not ${v.service}'s ${addr}: the ` +
          `sharing key was not honoured`,
      };
    if (!v.shared?.includes(SHARED_SERVICE))
      return {
        status: 'skipped',
        reason:
          `the subject's address source (${ctx.subject.addresses}) does not name ${SHARED_SERVICE} on ${addr}, so the sharing ` +
          `cannot be seen`,
      };
    const details = [`${addr}: ${[v.service, ...v.shared].join(', ')}`];
    const problems: string[] = [];
    const figures: Record<string, number> = {};
    const families = (
      [
        ['arp', v.ipv4],
        ['ndp', v.ipv6],
      ] as [Family, string | undefined][]
    ).filter(([f, ip]) => ip && ctx.subject.has(f === 'arp' ? 'ipv4' : 'ipv6')) as [Family, string][];

    await ctx.stableHolder(3000).catch(() => undefined); // what answers is judged below
    const steady = await ctx.probe('shared-ip', 2000);
    let holder = '';
    for (const [fam, ip] of families) {
      const who = responders(steady.events, ip, fam).map((m) => ctx.nodeOfMac(m) ?? m);
      figures[`${fam}.responders`] = who.length;
      details.push(`${ip} (${fam.toUpperCase()}): ${who.join(', ') || 'nobody'}`);
      if (who.length === 1) holder ||= who[0]!;
      else problems.push(`${ip} ${fam.toUpperCase()}: ${who.length} nodes answer (${who.join(', ') || 'none'})`);
    }

    // One of the services leaves the holder while the others stay: separate elections per service
    // move that one alone, and its new holder answers for the address beside the old one.
    if (holder && ctx.subject.has('node-labels')) {
      const leave: Fault = { kind: 'relabel', node: holder, label: `${NO_SHARED_LABEL}=true` };
      const budget = ctx.subject.budgetMs('relabel');
      let events;
      try {
        ({ events } = await ctx.probe('shared-ip-leave', budget + 1000, { during: () => ctx.inject(leave) }));
      } finally {
        await ctx.faults.undoIfActive(leave);
      }
      for (const [fam, ip] of families) {
        const twice = splitBrain(events, ip, fam).length;
        const who = responders(events, ip, fam).map((m) => ctx.nodeOfMac(m) ?? m);
        figures[`leave.${fam}.split_brain_windows`] = twice;
        details.push(
          `${holder} left policy l2lab-shared: ${ip} answered by ${who.join(', ') || 'nobody'}, ${twice} probes answered twice`,
        );
        if (twice)
          problems.push(
            `${ip} ${fam.toUpperCase()}: ${twice} probes answered by two nodes (${who.join(' and ')}) once ${holder} left the policy of ` +
              `one service on the address: one election per service?`,
          );
      }
    } else if (!ctx.subject.has('node-labels')) details.push('no relabel step: the subject does not claim node-labels');
    // Two holders stay two after the label is back (each keeps its lease): no trial can start from there.
    if (problems.length) return { status: 'failed', reason: problems.join('; '), details, figures };

    // The failover check's power-off trials ran on this address with the sharing services in place:
    // they are the evidence, where it ran them; else one trial of its own.
    const earlier = allTrials(opts).filter((x) => x.fault === 'power-off');
    const trials = earlier.length ? earlier : [await ctx.trial('power-off', 1)];
    if (!earlier.length) await ctx.settleHeal();
    for (const [fam] of families)
      figures[`power_off.${fam}.split_brain_windows`] = trials.reduce(
        (n, x) => n + (x[fam]?.splitBrainWindows ?? 0),
        0,
      );
    for (const t of trials) {
      details.push(
        `power-off${earlier.length ? ` #${t.trial} (failover check)` : ''} of ${t.arp?.oldNode ?? t.ndp?.oldNode}: ` +
          `${t.arp?.newNode ?? t.ndp?.newNode ?? 'nobody'} took over${t.problems.length ? ` (${t.problems.join('; ')})` : ''}`,
      );
      problems.push(...t.problems.map((p) => `power-off${earlier.length ? ` #${t.trial}` : ''}: ${p}`));
    }
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});

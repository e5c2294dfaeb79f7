// externalTrafficPolicy Local: a node without a local backend drops the service's traffic, so
// only nodes with one may answer for it (Cilium #46399), and moving the backend moves the
// answer. A Gateway's backend is the Envoy on every node: its service is announced whatever its
// policy (Cilium #48799: the Local Gateway's synthetic endpoint names no node; nobody answered).
import { failover, responders, splitBrain } from '../analyze.ts';
import { defineCheck } from '../check.ts';
import { LOCAL_GATEWAY_SERVICE, LOCAL_SERVICE, localHome, placeBackend } from '../local-setup.ts';

export default defineCheck({
  id: 'local-traffic',
  title: 'externalTrafficPolicy Local: only a node with a local backend answers',
  description:
    `A LoadBalancer service with externalTrafficPolicy Local (${LOCAL_SERVICE}) has its backend on one eligible node ` +
    `(l2l-backend): only that node answers ARP/NDP for its address. The backend moves to another eligible node: that node answers within ` +
    `the budget, the old one stops, no probe is answered twice; then it moves back. A Gateway whose CiliumGatewayClassConfig sets ` +
    `externalTrafficPolicy Local (${LOCAL_GATEWAY_SERVICE}) is answered by exactly one node throughout.`,
  features: ['traffic-policy-local'],
  // A service and a Gateway with externalTrafficPolicy Local (local-setup.ts), the backend on one eligible node.
  setup: {
    variable: 'local',
    off: false,
    fits: (lab) => !!localHome(lab),
    value: () => true,
    async afterInstall({ lab, provider, progress }) {
      const home = localHome(lab)!;
      progress(`the backend of ${LOCAL_SERVICE} on ${home}`);
      await placeBackend(lab, provider, LOCAL_SERVICE, [home]);
    },
  },
  async run(ctx) {
    const svc = ctx.vips.find((v) => v.service === LOCAL_SERVICE);
    const gw = ctx.vips.find((v) => v.service === LOCAL_GATEWAY_SERVICE);
    if (!svc || !gw)
      return {
        status: 'skipped',
        reason:
          `the subject's address source (${ctx.subject.addresses}) does not name ${svc ? LOCAL_GATEWAY_SERVICE : LOCAL_SERVICE}, ` +
          `so where it is answered cannot be seen`,
      };
    const home = localHome(ctx.lab);
    const away = ctx.eligible.find((n) => n.name !== home)?.name;
    if (!home || !away)
      return { status: 'skipped', reason: 'needs two nodes the policy allows, to move the backend between them' };
    const macOf = (n: string) => ctx.switchMac(ctx.eligible.find((h) => h.name === n)!);
    const name = (m: string) => ctx.nodeOfMac(m) ?? m;
    // A node that is no longer eligible lets go, or stops renewing: as a relabelled node.
    const budget = ctx.subject.budgetMs('relabel');
    const details: string[] = [];
    const problems: string[] = [];
    const figures: Record<string, number | null> = {};
    const place = (n: string) => placeBackend(ctx.lab, ctx.provider, LOCAL_SERVICE, [n]);

    // Where the backend is now (the install put it on `home`; a check before may have moved the holder).
    const at = async (step: string, n: string) => {
      const { events } = await ctx.probe(`local-${step}`, 1500, { vips: [svc, gw] });
      for (const { ip, family } of ctx.claimedOf(svc)) {
        const who = responders(events, ip, family);
        details.push(`${step}: backend on ${n}; ${ip} answered by ${who.map(name).join(', ') || 'nobody'}`);
        const others = who.filter((m) => m !== macOf(n));
        if (others.length)
          problems.push(
            `${ip} ${family.toUpperCase()}: ${others.map(name).join(', ')} answered with the backend on ${n} only (no local backend: ` +
              `its traffic is dropped)`,
          );
        else if (!who.length) problems.push(`${ip} ${family.toUpperCase()}: nobody answered with the backend on ${n}`);
      }
      for (const { ip, family } of ctx.claimedOf(gw)) {
        const who = responders(events, ip, family);
        figures[`gateway.${family}.responders`] = who.length;
        if (who.length !== 1)
          problems.push(
            `${ip} ${family.toUpperCase()} (Gateway ${LOCAL_GATEWAY_SERVICE}, externalTrafficPolicy Local): ` +
              `${
                who.length
                  ? `${who.length} nodes answer (${who.map(name).join(', ')})`
                  : 'nobody answers: its backend is the Envoy on every node ' + '(Cilium #48799)'
              }`,
          );
      }
    };
    // The backend moves to `to`: timed from the call (on a cluster, the rollout is part of it).
    const move = async (step: string, to: string) => {
      const { events, faultAt } = await ctx.probe(`local-${step}`, budget + 1000, {
        vips: [svc],
        during: () => place(to),
        settle: { announce: [], tailMs: 500 },
      });
      for (const { ip, family } of ctx.claimedOf(svc)) {
        const fo = failover(events, ip, family, faultAt);
        const ms = fo.newMac === macOf(to) && fo.firstNew ? Math.round((fo.firstNew - faultAt) / 1000) : null;
        const twice = splitBrain(events, ip, family).length;
        figures[`${step}.${family}_ms`] = ms;
        figures[`${step}.${family}.split_brain_windows`] = twice;
        details.push(
          `backend to ${to}: ${ip} answered by ${fo.newMac ? name(fo.newMac) : 'nobody new'}${ms === null ? '' : ` after ${ms} ms`}, ` +
            `${twice} probes answered twice`,
        );
        const F = family.toUpperCase();
        if (ms === null)
          problems.push(
            `${ip} ${F}: ${to} did not answer within ${budget + 1000} ms of its backend moving there${
              fo.newMac ? ` (${name(fo.newMac)} did)` : ''
            }`,
          );
        else if (ms > budget)
          ctx.late(problems, details, `${ip} ${F}: ${to} answered after ${ms} ms, budget ${budget} ms`);
        if (twice) problems.push(`${ip} ${F}: ${twice} probes answered by two nodes while the backend moved`);
      }
    };

    try {
      await place(home);
      // Until the home node answers (a fault before may have restarted it); what answers is judged after.
      const end = Date.now() + budget + 5000;
      while (Date.now() < end) {
        const { events } = await ctx.probe('settle', 300, { vips: [svc], keep: false });
        if (ctx.claimedOf(svc).every(({ ip, family }) => responders(events, ip, family).includes(macOf(home)))) break;
      }
      await at('steady', home);
      if (!problems.length) {
        await move('move', away);
        if (!problems.length) await move('return', home);
      }
    } finally {
      await place(home).catch((e: Error) => problems.push(`putting the backend back on ${home}: ${e.message}`));
    }
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});

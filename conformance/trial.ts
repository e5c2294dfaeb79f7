// What one failover trial's capture says, as a pure function: who answered before and after
// the fault, when, split-brain, and whether it held within the budget.
import { duplicates, type Family, failover, httpOutage, naFlaws, splitBrain, vrrpSwitchover } from './analyze.ts';
import type { ProbeEvent } from './events.ts';
import type { FamilyFailover, Trial } from './model.ts';

export interface TrialInput {
  fault: string;
  trial: number;
  events: ProbeEvent[];
  faultAt: number; // µs, client clock
  holder: string; // the node the fault hit
  budgetMs: number;
  windowMs: number; // how long after the fault the capture watched
  vip: { ipv4?: string; ipv6?: string };
  families: { arp: boolean; ndp: boolean; http: boolean };
  excludedMacs: Set<string>;
  nodeOfMac(mac?: string): string | undefined;
}

export function analyzeTrial(i: TrialInput): Omit<Trial, 'holderAfterHeal'> {
  const problems: string[] = [];
  const fam = (family: Family, vip?: string): FamilyFailover | undefined => {
    if (!vip) return undefined;
    const fo = failover(i.events, vip, family, i.faultAt);
    const r: FamilyFailover = {
      oldNode: i.nodeOfMac(fo.oldMac),
      newNode: i.nodeOfMac(fo.newMac),
      oldMac: fo.oldMac,
      newMac: fo.newMac,
      takeoverMs: fo.firstNew !== undefined ? (fo.firstNew - i.faultAt) / 1000 : undefined,
      outageMs: fo.outageMs,
      announceMs: fo.announcedAt !== undefined ? (fo.announcedAt - i.faultAt) / 1000 : undefined,
      announceTimesMs: fo.announcements.map((t) => Math.round((t - i.faultAt) / 100) / 10),
      splitBrainWindows: splitBrain(i.events, vip, family).length,
      duplicates: duplicates(i.events, vip, family),
      ...(fo.relapse && {
        relapseMs: Math.round((fo.relapse.to - fo.relapse.from) / 100) / 10,
        relapseAtMs: Math.round((fo.relapse.from - i.faultAt) / 100) / 10,
      }),
    };
    const v = vrrpSwitchover(i.events, vip, i.faultAt);
    if (v)
      r.vrrp = {
        oldNode: i.nodeOfMac(v.oldMac),
        newNode: i.nodeOfMac(v.newMac),
        switchoverMs: v.firstNew !== undefined && v.lastOld !== undefined ? (v.firstNew - v.lastOld) / 1000 : undefined,
        advertMs: v.firstNew !== undefined ? (v.firstNew - i.faultAt) / 1000 : undefined,
        intervalMs: v.intervalMs,
      };
    const label = family.toUpperCase();
    if (r.oldNode !== i.holder)
      problems.push(`${label}: ${i.holder} was not answering before the fault (${r.oldNode ?? 'nobody'} was)`);
    if (r.takeoverMs === undefined)
      problems.push(`${label}: no other node answered within ${i.windowMs} ms (budget ${i.budgetMs} ms)`);
    else if (r.takeoverMs > i.budgetMs)
      problems.push(`${label}: new responder after ${r.takeoverMs.toFixed(0)} ms, budget ${i.budgetMs} ms`);
    if (r.splitBrainWindows) problems.push(`${label}: ${r.splitBrainWindows} requests answered by two MACs`);
    if (family === 'ndp') {
      const flaws = naFlaws(i.events, vip, i.faultAt, (m) => i.nodeOfMac(m) ?? m);
      if (flaws.length) {
        r.naFlaws = flaws;
        // A solicited NA without the MAC leaves a client that asked unable to reach the VIP (gratuitous judges announcements).
        problems.push(...flaws.filter((f) => f.startsWith('solicited')).map((f) => `NDP: ${f}`));
      }
    }
    return r;
  };
  const arp = i.families.arp ? fam('arp', i.vip.ipv4) : undefined;
  const ndp = i.families.ndp ? fam('ndp', i.vip.ipv6) : undefined;
  const excludedAnswered = i.events.some(
    (e) => (e.kind === 'arp-reply' || e.kind === 'na') && i.excludedMacs.has(e.mac!),
  );
  if (excludedAnswered) problems.push('a node excluded by the policy answered');
  const http = i.families.http && i.vip.ipv4 ? httpOutage(i.events, i.vip.ipv4, i.faultAt) : undefined;
  return {
    fault: i.fault,
    trial: i.trial,
    faultAt: new Date(i.faultAt / 1000).toISOString(),
    budgetMs: i.budgetMs,
    arp,
    ndp,
    http,
    excludedAnswered,
    passed: problems.length === 0,
    problems,
  };
}

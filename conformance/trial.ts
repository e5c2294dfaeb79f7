// What one failover trial's capture says, as a pure function: who answered before and after
// the fault, when, split-brain, and whether it held within the budget.
import { duplicates, type Family, failover, httpOutage, naFlaws, splitBrain } from './analyze.ts';
import type { ProbeEvent } from './events.ts';
import type { FamilyFailover, Trial } from './model.ts';
import { vrrpSwitchover } from './vrrp.ts';

/** Unanswered probes in a row after the takeover that count as losing the VIP again (at least the answer timeout). */
export const RELAPSE_PROBES = 5;

/** A time over its budget on an emulated lab: how long the emulator took is no fact about the subject. */
export const NOT_JUDGED = '(emulated lab: reported, not judged)';

export interface TrialInput {
  fault: string;
  trial: number;
  events: ProbeEvent[];
  /** Frames the capture dropped: a timing read from it may be wrong (a lost first answer), so it cannot pass. */
  dropped?: number;
  faultAt: number; // µs, client clock
  holder: string; // the node the fault hit
  budgetMs: number;
  /** The NDP takeover's budget beyond budgetMs (the subject's dadMs on a lab that runs DAD). */
  dadMs?: number;
  windowMs: number; // how long after the fault the capture watched
  vip: { ipv4?: string; ipv6?: string };
  families: { arp: boolean; ndp: boolean; http: boolean };
  excludedMacs: Set<string>;
  nodeOfMac(mac?: string): string | undefined;
  /**
   * Longest silence of the new holder after its takeover that is not yet losing the VIP (ms): a
   * few probe intervals, at least the answer timeout. Longer, or another node answering, fails.
   */
  silenceLimitMs: number;
  /** How long after the takeover this trial meant to watch (the stability period), if longer than usual. */
  stabilityMs?: number;
  /**
   * The lab reports emulation (a processing slack beyond a real CPU's): a takeover over the budget
   * and a silence of the new holder are reported (notes, relapseMs), not judged — emulated CPUs
   * stall for that long; who answers, a hand-on and split-brain still fail.
   */
  emulated?: boolean;
}

export function analyzeTrial(i: TrialInput): Omit<Trial, 'holderAfterHeal'> {
  const problems: string[] = [];
  const notes: string[] = [];
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
    const budgetMs = i.budgetMs + (family === 'ndp' ? (i.dadMs ?? 0) : 0);
    if (r.oldNode !== i.holder)
      problems.push(`${label}: ${i.holder} was not answering before the fault (${r.oldNode ?? 'nobody'} was)`);
    if (r.takeoverMs === undefined)
      problems.push(`${label}: no other node answered within ${i.windowMs} ms (budget ${budgetMs} ms)`);
    else if (r.takeoverMs > budgetMs) {
      const late = `${label}: takeover ${r.takeoverMs.toFixed(0)} ms (the fault → the new holder's first answer), budget ${budgetMs} ms`;
      if (i.emulated) notes.push(`${late} ${NOT_JUDGED}`);
      else problems.push(late);
    }
    if (r.splitBrainWindows) problems.push(`${label}: ${r.splitBrainWindows} requests answered by two MACs`);
    // A takeover must last: the new holder neither falls silent nor hands the VIP on while watched.
    if (fo.handedOn) {
      r.handedTo = i.nodeOfMac(fo.handedOn.mac) ?? fo.handedOn.mac;
      r.handedAtMs = Math.round((fo.handedOn.t - i.faultAt) / 100) / 10;
      problems.push(
        `${label}: ${r.newNode} took over, then ${r.handedTo} answered ${r.handedAtMs.toFixed(0)} ms after the fault`,
      );
    }
    if (r.relapseMs !== undefined && r.relapseMs > i.silenceLimitMs && !i.emulated)
      problems.push(
        `${label}: ${r.newNode} took over, then nobody answered for ${r.relapseMs.toFixed(0)} ms from ${r.relapseAtMs!.toFixed(0)} ms ` +
          `after the fault (more than ${i.silenceLimitMs} ms)`,
      );
    if (i.stabilityMs && fo.firstNew !== undefined) {
      const last = i.events.filter((e) => e.vip === vip).at(-1)?.t ?? fo.firstNew;
      r.watchedMs = Math.round((last - fo.firstNew) / 1000);
      if (r.watchedMs < i.stabilityMs - i.silenceLimitMs)
        problems.push(
          `${label}: watched only ${r.watchedMs} ms after the takeover, short of the ${i.stabilityMs} ms stability period`,
        );
    }
    if (family === 'ndp') {
      const flaws = naFlaws(i.events, vip, i.faultAt, (m) => i.nodeOfMac(m) ?? m);
      if (flaws.announcements.length) r.naFlaws = flaws.announcements; // gratuitous judges them
      // A solicited NA without the MAC leaves a client that asked unable to reach the VIP.
      problems.push(...flaws.answers.map((f) => `NDP: ${f}`));
    }
    return r;
  };
  const arp = i.families.arp ? fam('arp', i.vip.ipv4) : undefined;
  const ndp = i.families.ndp ? fam('ndp', i.vip.ipv6) : undefined;
  const excludedAnswered = i.events.some(
    (e) => (e.kind === 'arp-reply' || e.kind === 'na') && i.excludedMacs.has(e.mac!),
  );
  if (excludedAnswered) problems.push('a node excluded by the policy answered');
  if (i.dropped) problems.push(`the capture dropped ${i.dropped} frames: its timings cannot be trusted`);
  const http = i.families.http && i.vip.ipv4 ? httpOutage(i.events, i.vip.ipv4, i.faultAt) : undefined;
  return {
    fault: i.fault,
    trial: i.trial,
    faultAt: new Date(i.faultAt / 1000).toISOString(),
    budgetMs: i.budgetMs,
    ...(i.dadMs ? { dadMs: i.dadMs } : {}),
    arp,
    ndp,
    http,
    excludedAnswered,
    passed: problems.length === 0,
    problems,
    ...(notes.length ? { notes } : {}),
  };
}

// What a probe capture says, as pure functions: who answered when, outages, split-brain.
import type { ProbeEvent } from './events.ts';

export type Family = 'arp' | 'ndp';
const answerKind = (f: Family) => (f === 'arp' ? 'arp-reply' : 'na');
const requestKind = (f: Family) => (f === 'arp' ? 'arp-request' : 'ns');
const announceKind = (f: Family) => (f === 'arp' ? 'garp' : 'unsolicited-na');

export function answers(
  events: ProbeEvent[],
  vip: string,
  family: Family,
  from = -Infinity,
  to = Infinity,
): ProbeEvent[] {
  return events.filter((e) => e.vip === vip && e.kind === answerKind(family) && e.t >= from && e.t <= to);
}

export function responders(
  events: ProbeEvent[],
  vip: string,
  family: Family,
  from = -Infinity,
  to = Infinity,
): string[] {
  return [...new Set(answers(events, vip, family, from, to).map((e) => e.mac!))];
}

/** Probe windows (request to next request) in which more than one MAC answered. */
export function splitBrainWindows(events: ProbeEvent[], vip: string, family: Family): { t: number; macs: string[] }[] {
  const reqs = events.filter((e) => e.vip === vip && e.kind === requestKind(family)).map((e) => e.t);
  const out: { t: number; macs: string[] }[] = [];
  reqs.forEach((t, i) => {
    const macs = responders(events, vip, family, t, reqs[i + 1] ?? Infinity);
    if (macs.length > 1) out.push({ t, macs });
  });
  return out;
}

export interface Failover {
  oldMac?: string;
  newMac?: string;
  lastOld?: number; // µs
  firstNew?: number;
  outageMs?: number; // last answer from the old MAC to the first from the new one
  announcedAt?: number; // first gratuitous ARP / unsolicited NA from the new MAC
  announcements: number[]; // every one from the new MAC after the fault (µs)
}

/** The change of responder after `faultAt` (µs): who answered before, who after, and the gap. */
export function failover(events: ProbeEvent[], vip: string, family: Family, faultAt: number): Failover {
  const all = answers(events, vip, family);
  const before = all.filter((e) => e.t < faultAt);
  const oldMac = before[before.length - 1]?.mac;
  const firstNew = all.find((e) => e.t >= faultAt && e.mac !== oldMac);
  const lastOld = [...all].reverse().find((e) => e.mac === oldMac && (!firstNew || e.t < firstNew.t));
  const announcements = events.filter(
    (e) => e.vip === vip && e.kind === announceKind(family) && e.t >= faultAt && e.mac === firstNew?.mac,
  );
  const announced = announcements[0];
  return {
    oldMac,
    newMac: firstNew?.mac,
    lastOld: lastOld?.t,
    firstNew: firstNew?.t,
    outageMs: firstNew && lastOld ? (firstNew.t - lastOld.t) / 1000 : undefined,
    announcedAt: announced?.t,
    announcements: announcements.map((e) => e.t),
  };
}

/**
 * HTTP outage of a fault (ms): from the fault to the first success after the failures that
 * followed it (given HTTP worked before it). Slowness before the fault is not the subject's: on an
 * emulated VM the injection itself (SSH, a shell, signalling) starves the node for up to a second
 * before the signal lands, and HTTP times out meanwhile.
 */
export function httpOutage(
  events: ProbeEvent[],
  vip: string,
  faultAt: number,
): { outageMs?: number; before?: string; after?: string } {
  const ok = events.filter((e) => e.kind === 'http-ok' && e.vip === vip);
  const fails = events.filter((e) => e.kind === 'http-fail' && e.vip === vip && e.t >= faultAt);
  const last = [...ok].reverse().find((e) => e.t < faultAt);
  const okAfter = ok.filter((e) => e.t >= faultAt);
  if (!fails.length) return okAfter.length ? { outageMs: 0, before: last?.node, after: okAfter.at(-1)?.node } : {};
  const next = ok.find((e) => e.t > fails[0]!.t);
  return { outageMs: next && last ? (next.t - faultAt) / 1000 : undefined, before: last?.node, after: next?.node };
}

export function percentile(xs: number[], p: number): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Median, p95 and max of the figures present (ms, rounded); undefined when there are none. */
export function spread(xs: (number | undefined)[]): { median: number; p95: number; max: number } | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  if (!v.length) return undefined;
  return {
    median: Math.round(percentile(v, 50)!),
    p95: Math.round(percentile(v, 95)!),
    max: Math.round(Math.max(...v)),
  };
}

/** "median / p95 / max", or "-" without figures: how tables show a spread. */
export function formatSpread(xs: (number | undefined)[]): string {
  const s = spread(xs);
  return s ? `${s.median} / ${s.p95} / ${s.max}` : '-';
}

export interface SettleWanted {
  /** Families whose new responder must also have announced itself (gratuitous ARP, unsolicited NA: what the subject claims). */
  announce: Family[];
  /** Wait for HTTP (this VIP) to answer after the takeover. */
  http?: string;
}

/**
 * When a failover has played out (µs), or undefined while it has not: every VIP answered by a
 * MAC other than its last responder before the fault, announced by it where wanted, and HTTP
 * answering again after that. A window may end a little after this instead of at its limit.
 */
export function settledAt(
  events: ProbeEvent[],
  faultAt: number,
  vips: string[],
  want: SettleWanted,
): number | undefined {
  let at = faultAt;
  for (const vip of vips) {
    const family: Family = vip.includes(':') ? 'ndp' : 'arp';
    const fo = failover(events, vip, family, faultAt);
    if (fo.firstNew === undefined) return undefined;
    at = Math.max(at, fo.firstNew);
    if (want.announce.includes(family)) {
      if (fo.announcedAt === undefined) return undefined;
      at = Math.max(at, fo.announcedAt);
    }
  }
  if (want.http) {
    const ok = events.find((e) => e.kind === 'http-ok' && e.vip === want.http && e.t > at);
    if (!ok) return undefined;
    at = ok.t;
  }
  return at;
}

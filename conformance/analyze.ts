// What a probe capture says, as pure functions: who answered when, outages, split-brain.
import type { Baseline, ProbeEvent } from './events.ts';
import { isVirtualMac } from './vrrp.ts';

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

/**
 * How much longer than its baseline time plus the answer timeout a prober waits for ten ripe requests (a stalled client) before it
 * says what it has.
 */
export const BASELINE_STALL_MS = 2000;

/**
 * Who answered each VIP so far, counting only requests an answer has had time to reach (sent
 * answerTimeoutMs or more before `now`, µs): on a slow responder or a stalled client (an emulated
 * VM), the latest requests are still in flight, and counting them made a working holder look
 * lossy (CI: "answered by node01 (2 of 4 requests)"). `answers`: how many of those requests were
 * answered (each answer is tied to its request); `responders`: every MAC that answered so far.
 * `ripe`: the fewest requests counted for any VIP.
 */
export function baselineOf(
  events: ProbeEvent[],
  vips: string[],
  now: number,
  answerTimeoutMs: number,
): { baseline: Baseline; ripe: number } {
  const baseline: Baseline = {};
  let ripe = Infinity;
  for (const vip of vips) {
    const family: Family = vip.includes(':') ? 'ndp' : 'arp';
    const asked = requestsOf(events, vip, family, -Infinity, now - answerTimeoutMs * 1000);
    baseline[vip] = {
      responders: responders(events, vip, family, -Infinity, now),
      requests: asked.length,
      answers: answeredCount(asked),
    };
    ripe = Math.min(ripe, asked.length);
  }
  return { baseline, ripe: vips.length ? ripe : 0 };
}

/**
 * Ties each answer to the request it answers, by content: the prober sends each round of requests
 * from the next of several addresses it owns, and an ARP reply goes to the request's sender
 * address (RFC 826), a solicited NA to the solicitation's source (RFC 4861 §7.2.4). An answer
 * belongs to the latest request of its VIP sent from the address it was sent to. Events must come
 * in capture order (requests and answers on one capture, one clock); unique as long as answers
 * come within the rotation (sources × interval), which the prober sizes past its answer timeout.
 */
export class Attributor {
  private next = 0;
  private readonly latest = new Map<string, number>(); // "vip source" → request number
  add(e: ProbeEvent): ProbeEvent {
    if (e.kind === 'arp-request' || e.kind === 'ns') {
      const req = this.next++;
      this.latest.set(`${e.vip} ${e.src}`, req);
      return { ...e, req };
    }
    if ((e.kind === 'arp-reply' || e.kind === 'na') && !e.forClient && e.dst !== undefined) {
      const req = this.latest.get(`${e.vip} ${e.dst}`);
      return req === undefined ? e : { ...e, req };
    }
    return e;
  }
}

/**
 * Why `sources` addresses in turn at `intervalMs` cannot tie answers to requests, if they cannot: an
 * address comes round again after (sources - 1) intervals, and an answer due within the answer
 * timeout must not be taken for the next request from it.
 */
export function rotationProblem(sources: number, intervalMs: number, answerTimeoutMs: number): string | undefined {
  const roundMs = (sources - 1) * intervalMs;
  return roundMs >= answerTimeoutMs
    ? undefined
    : `${sources} source addresses at ${intervalMs} ms come round after ${roundMs} ms, before the ${answerTimeoutMs} ms answer timeout`;
}

/** attributeAnswers: an Attributor over events in capture order. */
export function attributeAnswers(events: ProbeEvent[]): ProbeEvent[] {
  const a = new Attributor();
  return events.map((e) => a.add(e));
}

/** A request and the answers tied to it. */
export interface Asked {
  req: number;
  t: number;
  answers: ProbeEvent[];
}

/** The requests for a VIP sent in [from, to] (µs), each with its answers (whenever they came). */
export function requestsOf(
  events: ProbeEvent[],
  vip: string,
  family: Family,
  from = -Infinity,
  to = Infinity,
): Asked[] {
  const out = new Map<number, Asked>();
  for (const e of events)
    if (e.vip === vip && e.kind === requestKind(family) && e.req !== undefined && e.t >= from && e.t <= to)
      out.set(e.req, { req: e.req, t: e.t, answers: [] });
  for (const e of events)
    if (e.vip === vip && e.kind === answerKind(family) && e.req !== undefined) out.get(e.req)?.answers.push(e);
  return [...out.values()].sort((a, b) => a.t - b.t);
}

/** How many of those requests got at least one answer. */
export const answeredCount = (asked: Asked[]): number => asked.filter((a) => a.answers.length).length;

/**
 * Split-brain as the client sees it: requests answered by two MACs, or twice by a VRRP virtual MAC
 * (which several nodes share: two answers to one request come from two of them).
 */
export function splitBrain(events: ProbeEvent[], vip: string, family: Family): { t: number; macs: string[] }[] {
  return requestsOf(events, vip, family).flatMap((a) => {
    const macs = [...new Set(a.answers.map((e) => e.mac!))];
    const virtual = a.answers.filter((e) => isVirtualMac(e.wireMac ?? e.mac)).length;
    return macs.length > 1 || virtual > 1 ? [{ t: a.t, macs }] : [];
  });
}

/** Requests one real MAC answered more than once: no split-brain (one node), reported apart. */
export function duplicates(events: ProbeEvent[], vip: string, family: Family): number {
  return requestsOf(events, vip, family).filter((a) => {
    const real = a.answers.filter((e) => !isVirtualMac(e.wireMac ?? e.mac));
    return real.length > 1 && new Set(real.map((e) => e.mac)).size === 1;
  }).length;
}

/**
 * NDP as a receiver reads it, from `from` (µs) on: what in the VIP's neighbour advertisements a
 * client's neighbour cache cannot use, once per flaw and sender. An unsolicited NA without the
 * Override flag does not replace a cached MAC, one without the target link-layer address carries
 * none (RFC 4861 §7.2.5-7.2.6; Cilium before 1.19.5/1.20.0, cilium/cilium #46079); a solicited NA
 * to a multicast solicitation (the prober's are) must carry it (§7.2.4). Announcements and
 * answers apart: gratuitous judges the first, a trial the second.
 */
export function naFlaws(
  events: ProbeEvent[],
  vip: string,
  from: number,
  name: (mac: string) => string,
): { announcements: string[]; answers: string[] } {
  const announcements = new Set<string>();
  const answers = new Set<string>();
  for (const e of events) {
    if (e.vip !== vip || e.t < from || e.override === undefined) continue;
    const who = name(e.mac!);
    if (e.kind === 'unsolicited-na') {
      if (!e.override)
        announcements.add(
          `unsolicited NA from ${who} without the Override flag: a neighbour cache holding the old MAC keeps it ` +
            '(RFC 4861 §7.2.5-7.2.6)',
        );
      if (!e.tlla)
        announcements.add(
          `unsolicited NA from ${who} without the target link-layer address option: it carries no MAC to update a cache ` +
            'with (RFC 4861 §7.2.6)',
        );
    } else if (e.kind === 'na' && !e.forClient && !e.tlla)
      answers.add(
        `solicited NA from ${who} without the target link-layer address option, in answer to a multicast ` +
          'solicitation (RFC 4861 §7.2.4: MUST)',
      );
  }
  return { announcements: [...announcements], answers: [...answers] };
}

export interface Failover {
  oldMac?: string;
  newMac?: string;
  lastOld?: number; // µs
  firstNew?: number;
  outageMs?: number; // last answer from the old MAC to the first from the new one
  announcedAt?: number; // first gratuitous ARP / unsolicited NA from the new MAC
  announcements: number[]; // every one from the new MAC after the fault (µs)
  /** The longest stretch after the takeover in which requests went unanswered by anyone (µs). */
  relapse?: { from: number; to: number };
  /** After the takeover, the first answer to the prober from a MAC other than the new one's: the VIP handed on (µs). */
  handedOn?: { mac: string; t: number };
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
  // Lease flapping (a holder that cannot renew in time, then wins again) is a second outage the
  // client sees after the takeover: the longest gap between answers while requests went out.
  let relapse: Failover['relapse'];
  if (firstNew) {
    const lastRequest = events.filter((e) => e.vip === vip && e.kind === requestKind(family)).at(-1)?.t ?? firstNew.t;
    const after = all.filter((e) => e.t >= firstNew.t && !e.forClient).map((e) => e.t);
    const ends = [...after, Math.max(lastRequest, after.at(-1)!)];
    for (let k = 1; k < ends.length; k++)
      if (!relapse || ends[k]! - ends[k - 1]! > relapse.to - relapse.from)
        relapse = { from: ends[k - 1]!, to: ends[k]! };
  }
  // Answers to requests sent after the takeover only: the old holder's late answer to an earlier one is no hand-on.
  const askedAt = new Map(requestsOf(events, vip, family).map((a) => [a.req, a.t]));
  const handed =
    firstNew &&
    all.find((e) => e.req !== undefined && (askedAt.get(e.req) ?? -Infinity) > firstNew.t && e.mac !== firstNew.mac);
  return {
    oldMac,
    newMac: firstNew?.mac,
    ...(handed && { handedOn: { mac: handed.mac!, t: handed.t } }),
    lastOld: lastOld?.t,
    firstNew: firstNew?.t,
    outageMs: firstNew && lastOld ? (firstNew.t - lastOld.t) / 1000 : undefined,
    announcedAt: announced?.t,
    announcements: announcements.map((e) => e.t),
    relapse,
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

export interface SettleWanted {
  /** Families whose new responder must also have announced itself (gratuitous ARP, unsolicited NA: what the subject claims). */
  announce: Family[];
  /** Wait for HTTP (this VIP) to answer after the takeover. */
  http?: string;
  /** Answered again by anyone, the last responder too (the lab back after an outage), instead of a takeover. */
  anyone?: boolean;
}

/**
 * When a failover has played out (µs), or undefined while it has not: every VIP answered by a
 * MAC other than its last responder before the fault (by anyone, with `anyone`), announced by it
 * where wanted, and HTTP answering again after that. A window may end a little after this
 * instead of at its limit.
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
    if (want.anyone) {
      const first = answers(events, vip, family, faultAt)[0];
      if (!first) return undefined;
      at = Math.max(at, first.t);
      continue;
    }
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

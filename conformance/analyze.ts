// What a probe capture says, as pure functions: who answered when, outages, split-brain.
import type { Baseline, ProbeEvent } from './events.ts';

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

/** How much longer than its baseline time plus the answer timeout a prober waits for ten ripe requests (a stalled client) before it says what it has. */
export const BASELINE_STALL_MS = 2000;

/**
 * Who answered each VIP so far, counting only requests an answer has had time to reach (sent
 * answerTimeoutMs or more before `now`, µs): on a slow responder or a stalled client (an emulated
 * VM), the latest requests are still in flight, and counting them made a working holder look
 * lossy (CI: "answered by node01 (2 of 4 requests)"). Answers count up to the requests counted
 * (an answer to a younger request may be among them: lenient by the requests still in flight).
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
    const requests = events.filter(
      (e) => e.vip === vip && e.kind === requestKind(family) && e.t <= now - answerTimeoutMs * 1000,
    ).length;
    const answered = answers(events, vip, family, -Infinity, now);
    baseline[vip] = {
      responders: [...new Set(answered.map((e) => e.mac!))],
      requests,
      answers: Math.min(answered.length, requests),
    };
    ripe = Math.min(ripe, requests);
  }
  return { baseline, ripe: vips.length ? ripe : 0 };
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

const VIRTUAL_MAC = /^00:00:5e:00:0[12]:[0-9a-f]{2}$/;
/** VRRP's virtual router MACs (RFC 5798 §7.3): shared by every router of the group, so they name no node. */
export const isVirtualMac = (m?: string): boolean => m !== undefined && VIRTUAL_MAC.test(m);

/**
 * Names the node behind every answer that carried a VRRP virtual MAC. VRRP's master is whoever
 * advertises (RFC 5798 §6.4.3), so an answer belongs to:
 * - the source of the latest advertisement for its VIP while that is fresh (within 1.5 of its
 *   intervals);
 * - once advertisements went stale, to whoever answered the request before, if the answers never
 *   stopped (a master whose daemon died or froze while its kernel still answers);
 * - after a silence, after the master resigned (priority 0), or before any advertisement, to the
 *   next node that advertises (a new master's first advertisement may come an interval late).
 * A second answer from the virtual MAC to one request comes from another node, named as the
 * other recent or next master, so split-brain stays visible. Advertisements are named by their
 * IP source (`sources`: address → the node's own MAC). Pure; answers from real MACs pass through.
 */
export function attributeVirtualMacs(events: ProbeEvent[], sources: ReadonlyMap<string, string>): ProbeEvent[] {
  const named = [...events]
    .sort((a, b) => a.t - b.t)
    .map((e) =>
      e.kind === 'vrrp' && e.src && sources.has(e.src) && e.mac !== sources.get(e.src)
        ? { ...e, mac: sources.get(e.src), wireMac: e.wireMac ?? e.mac }
        : e,
    );
  if (!named.some((e) => e.kind !== 'vrrp' && isVirtualMac(e.mac))) return named;
  // Everything below is looked up by time with binary searches: the prober names a growing
  // capture again and again while it waits for a takeover to settle.
  const adverts = new Map<string, ProbeEvent[]>();
  const requests = new Map<string, number[]>();
  for (const e of named) {
    if (e.kind === 'vrrp') push(adverts, e.vip, e);
    if (e.kind === 'arp-request' || e.kind === 'ns') push(requests, e.vip, e.t);
  }
  // Per VIP: the index of the latest master advertisement at or before each advertisement, and of
  // the first one at or after it.
  const lastMaster = new Map<string, number[]>();
  const nextMaster = new Map<string, number[]>();
  for (const [vip, list] of adverts) {
    const before: number[] = [];
    const after: number[] = new Array(list.length + 1).fill(-1);
    list.forEach((a, i) => {
      before.push(a.priority ? i : i > 0 ? before[i - 1]! : -1);
    });
    for (let i = list.length - 1; i >= 0; i--) after[i] = list[i]!.priority ? i : after[i + 1]!;
    lastMaster.set(vip, before);
    nextMaster.set(vip, after);
  }
  /** How many of the VIP's advertisements came at or before t. */
  const advertsUpTo = (vip: string, t: number) => countUpTo(adverts.get(vip) ?? [], t, (a) => a.t);
  const masterAt = (vip: string, t: number, carried?: string): string | undefined => {
    const list = adverts.get(vip) ?? [];
    const n = advertsUpTo(vip, t);
    const lastIdx = n > 0 ? lastMaster.get(vip)![n - 1]! : -1;
    const last = lastIdx >= 0 ? list[lastIdx] : undefined; // the latest master advertisement
    // A priority-0 advertisement ends its sender's mastership only (all after `last` have priority 0).
    let resigned = false;
    for (let i = lastIdx + 1; last && i < n; i++) if (list[i]!.mac === last.mac) resigned = true;
    const nextIdx = nextMaster.get(vip)?.[n] ?? -1;
    const next = nextIdx >= 0 ? list[nextIdx] : undefined;
    if (!last || resigned) return next?.mac; // before any advertisement, or after the master resigned
    if (t - last.t <= 1.5 * (last.intervalMs ?? 1000) * 1000) return last.mac;
    return carried ?? next?.mac ?? last.mac;
  };
  /** Other nodes that advertised for the VIP, the latest before t first, then the next after it. */
  const others = (vip: string, t: number, not: string): string[] => {
    const list = adverts.get(vip) ?? [];
    const out: string[] = [];
    const add = (a: ProbeEvent) => {
      if (a.priority && a.mac !== not && !out.includes(a.mac!)) out.push(a.mac!);
    };
    for (const a of [...list].reverse()) if (a.t <= t) add(a);
    for (const a of list) if (a.t > t) add(a);
    return out;
  };
  // Probe windows per VIP: from one round of requests to the next. Rounds closer than a quarter
  // interval (a late round sent right before the next one) make one window that may get as many
  // answers as it had requests: which answer belongs to which of them, timing cannot tell.
  const windows = new Map<string, { start: number; last: number; requests: number }[]>();
  for (const [vip, reqs] of requests) {
    const spacing = reqs.length > 1 ? (reqs.at(-1)! - reqs[0]!) / (reqs.length - 1) : 0;
    const burst = Math.min(5000, spacing / 4);
    const list: { start: number; last: number; requests: number }[] = [];
    for (const t of reqs) {
      const w = list.at(-1);
      if (w && t - w.last <= burst) {
        w.requests++;
        w.last = t;
      } else list.push({ start: t, last: t, requests: 1 });
    }
    windows.set(vip, list);
  }
  const windowOf = (vip: string, t: number): { index: number; requests: number } => {
    const list = windows.get(vip) ?? [];
    // A request's time is taken just after it was sent (and the prober's clock is aligned with the
    // capture's within a millisecond): its answer may be captured a little before that.
    const index = countUpTo(list, t + 2000, (w) => w.start) - 1;
    return { index, requests: list[index]?.requests ?? 1 };
  };
  const firstIn = new Map<string, string>(); // "vip window" → who gave the first answer to the prober
  const countIn = new Map<string, number>();
  const lastAnswer = new Map<string, { t: number; mac: string; intervalUs: number }>();
  return named.map((e) => {
    if (e.kind === 'vrrp' || !isVirtualMac(e.mac)) return e;
    const answer = e.kind === 'arp-reply' || e.kind === 'na';
    const w = windowOf(e.vip, e.t);
    const key = `${e.vip} ${w.index}`;
    // Answers never stopped if the last one came within an advertisement interval (a lost reply or
    // a stalled client is no silence; a master-down interval is three). Announcements come from a
    // node taking over: they carry nothing.
    const prev = answer ? lastAnswer.get(e.vip) : undefined;
    const carried = prev && e.t - prev.t <= prev.intervalUs ? prev.mac : undefined;
    let mac = masterAt(e.vip, e.t, carried);
    if (answer && !e.forClient) {
      const n = countIn.get(key) ?? 0;
      countIn.set(key, n + 1);
      // More answers than requests over this window and the two before it: another node answers.
      // (A reply that arrives after the next request — a slow client — leaves one window empty
      // and the next with two: that is no second node.)
      let asked = 0;
      let answered = 0;
      for (let back = 0; back <= 2; back++) {
        asked += windows.get(e.vip)?.[w.index - back]?.requests ?? 0;
        answered += countIn.get(`${e.vip} ${w.index - back}`) ?? 0;
      }
      if (n === 0 && mac) {
        firstIn.set(key, mac);
        const interval = adverts.get(e.vip)?.[advertsUpTo(e.vip, e.t) - 1]?.intervalMs ?? 1000;
        lastAnswer.set(e.vip, { t: e.t, mac, intervalUs: interval * 1000 });
      } else if (n > 0 && answered > Math.max(asked, 1)) mac = others(e.vip, e.t, firstIn.get(key) ?? '')[0] ?? e.mac;
      else mac = firstIn.get(key) ?? mac;
    }
    return mac ? { ...e, mac, wireMac: e.mac } : e;
  });
}

function push<T>(m: Map<string, T[]>, key: string, v: T): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

/** How many items of a list sorted by `at` have at(item) <= t (binary search). */
function countUpTo<T>(list: readonly T[], t: number, at: (x: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at(list[mid]!) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The VRRP advertisements around a fault: the old master's last, the new master's first (µs). */
export function vrrpSwitchover(
  events: ProbeEvent[],
  vip: string,
  faultAt: number,
): { oldMac?: string; newMac?: string; lastOld?: number; firstNew?: number; intervalMs?: number } | undefined {
  const ads = events.filter((e) => e.kind === 'vrrp' && e.vip === vip && e.priority);
  if (!ads.length) return undefined;
  const oldMac = ads.filter((e) => e.t < faultAt).at(-1)?.mac;
  const firstNew = ads.find((e) => e.t >= faultAt && e.mac !== oldMac);
  const lastOld = ads.filter((e) => e.mac === oldMac && e.t < (firstNew?.t ?? Infinity)).at(-1);
  return { oldMac, newMac: firstNew?.mac, lastOld: lastOld?.t, firstNew: firstNew?.t, intervalMs: lastOld?.intervalMs };
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
  return {
    oldMac,
    newMac: firstNew?.mac,
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

// VRRP on the wire (RFC 5798): its virtual MACs name no node, so answers that carry one are named
// by who advertised; and the switchover as VRRP's own clock sees it. Pure functions on captures.
import type { ProbeEvent } from './events.ts';

const VIRTUAL_MAC = /^00:00:5e:00:0[12]:[0-9a-f]{2}$/;
/** VRRP's virtual router MACs (RFC 5798 §7.3): shared by every router of the group, so they name no node. */
export const isVirtualMac = (m?: string): boolean => m !== undefined && VIRTUAL_MAC.test(m);

/**
 * Names the node behind every answer that carried a VRRP virtual MAC. VRRP's master is whoever
 * advertises (RFC 5798 §6.4.3), so an answer belongs to:
 * - the source of the latest advertisement for its VIP while that is fresh (within 1.5 of its
 *   intervals);
 * - once advertisements went stale, to whoever answered before, if the answers never stopped (a
 *   master whose daemon died or froze while its kernel still answers);
 * - after a silence, after the master resigned (priority 0), or before any advertisement, to the
 *   next node that advertises (a new master's first advertisement may come an interval late).
 * A second answer to one request (tied by content, Attributor) comes from another node, named as
 * the other recent or next master, so split-brain stays visible. Advertisements are named by their
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
  // Looked up by time with binary searches: the prober names a growing capture again and again
  // while it waits for a takeover to settle.
  const adverts = new Map<string, ProbeEvent[]>();
  for (const e of named) if (e.kind === 'vrrp') push(adverts, e.vip, e);
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
  const firstOf = new Map<number, string>(); // request → who gave its first answer
  const lastAnswer = new Map<string, { t: number; mac: string; intervalUs: number }>();
  return named.map((e) => {
    if (e.kind === 'vrrp' || !isVirtualMac(e.mac)) return e;
    const answer = e.kind === 'arp-reply' || e.kind === 'na';
    // Answers never stopped if the last one came within an advertisement interval (a lost reply or
    // a stalled client is no silence; a master-down interval is three). Announcements come from a
    // node taking over: they carry nothing.
    const prev = answer ? lastAnswer.get(e.vip) : undefined;
    const carried = prev && e.t - prev.t <= prev.intervalUs ? prev.mac : undefined;
    let mac = masterAt(e.vip, e.t, carried);
    // A second answer to one request is another router's; a first one (or one to the client's own
    // kernel) names the master, and answers go on from it.
    const first = answer && e.req !== undefined ? firstOf.get(e.req) : undefined;
    if (first !== undefined) mac = others(e.vip, e.t, first)[0] ?? mac;
    else if (answer && mac) {
      if (e.req !== undefined) firstOf.set(e.req, mac);
      const interval = adverts.get(e.vip)?.[advertsUpTo(e.vip, e.t) - 1]?.intervalMs ?? 1000;
      lastAnswer.set(e.vip, { t: e.t, mac, intervalUs: interval * 1000 });
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

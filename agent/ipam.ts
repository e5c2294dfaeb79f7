// LoadBalancer IP allocation from CiliumLoadBalancerIPPools: deterministic (services in
// namespace/name order, lowest free address first, one IPv4 and one IPv6 where the pool has
// them), and stable: existing allocations (from the store) are kept, new ones fill gaps.
import { cidrRange, type Family, formatIp, parseCidr, parseIp } from '../lab/ip.ts';
import { matches } from '../lab/selector.ts';
import type { Pool, Service } from './manifests.ts';

export interface Allocation {
  pool: string;
  ipv4?: string;
  ipv6?: string;
}
export const serviceKey = (s: Service) => `${s.namespace}/${s.name}`;

/**
 * May `s` take the address of `other`, as Cilium's LB-IPAM decides for a sharing key: the same
 * key, each allowing the other's namespace (its own always), and no port both use.
 */
export function mayShare(s: Service, other: Service): boolean {
  if (!s.sharing || !other.sharing || s.sharing.key !== other.sharing.key) return false;
  const allows = (a: Service, b: Service) =>
    a.namespace === b.namespace || a.sharing!.namespaces.includes('*') || a.sharing!.namespaces.includes(b.namespace);
  return allows(s, other) && allows(other, s) && !s.ports.some((p) => other.ports.includes(p));
}

interface Span {
  family: Family;
  first: bigint;
  last: bigint;
}

export function poolSpans(pool: Pool): Span[] {
  return pool.blocks.map((b) => {
    if (b.cidr) {
      const c = parseCidr(b.cidr, false);
      if (typeof c === 'string') throw new Error(`pool ${pool.name}: ${c}`);
      const r = cidrRange(c);
      // As Cilium: with allowFirstLastIPs: No the first and last address of a CIDR are not handed out (tiny blocks excepted).
      const trim = !pool.allowFirstLastIPs && r.last - r.first >= 3n;
      return { family: r.family, first: trim ? r.first + 1n : r.first, last: trim ? r.last - 1n : r.last };
    }
    const s = parseIp(b.start ?? ''),
      e = parseIp(b.stop ?? '');
    if (!s || !e || s.family !== e.family) throw new Error(`pool ${pool.name}: bad block ${JSON.stringify(b)}`);
    return { family: s.family, first: s.value, last: e.value };
  });
}

function firstFree(spans: Span[], family: Family, used: Set<string>): string | undefined {
  for (const s of spans.filter((x) => x.family === family))
    for (let v = s.first; v <= s.last; v++) {
      const ip = formatIp(family, v);
      if (!used.has(ip)) return ip;
    }
  return undefined;
}

/** Allocations for every LoadBalancer service that a pool selects, keeping the existing ones. */
export function allocate(
  pools: Pool[],
  services: Service[],
  existing: Record<string, Allocation>,
): Record<string, Allocation> {
  const result: Record<string, Allocation> = {};
  const used = new Set<string>();
  const live = pools.filter((p) => !p.disabled);
  for (const s of services) {
    const a = existing[serviceKey(s)];
    const pool = a && live.find((p) => p.name === a.pool && matches(p.serviceSelector, s.labels));
    // Kept only while its addresses are still the pool's (a block edited away frees them).
    const inside = (ip?: string) => {
      if (!ip || !pool) return true;
      const v = parseIp(ip);
      return !!v && poolSpans(pool).some((x) => x.family === v.family && v.value >= x.first && v.value <= x.last);
    };
    if (a && pool && inside(a.ipv4) && inside(a.ipv6)) {
      result[serviceKey(s)] = a;
      if (a.ipv4) used.add(a.ipv4);
      if (a.ipv6) used.add(a.ipv6);
    }
  }
  // A kept record without a family its pool now offers (a block added since) gets that family,
  // as a dual-stack service does; what it has stays.
  for (const s of services) {
    const a = result[serviceKey(s)];
    if (!a || (a.ipv4 && a.ipv6)) continue;
    const spans = poolSpans(live.find((p) => p.name === a.pool)!);
    const ipv4 = a.ipv4 ?? firstFree(spans, 4, used);
    const ipv6 = a.ipv6 ?? firstFree(spans, 6, used);
    if (ipv4 === a.ipv4 && ipv6 === a.ipv6) continue;
    result[serviceKey(s)] = { pool: a.pool, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
    if (ipv4) used.add(ipv4);
    if (ipv6) used.add(ipv6);
  }
  const todo = services
    .filter((s) => s.loadBalancer && !result[serviceKey(s)])
    .sort((a, b) => serviceKey(a).localeCompare(serviceKey(b)));
  for (const s of todo) {
    // A sharing key: the address of a service it may share with, from a pool that selects it too.
    const host = services.find((o) => {
      const a = result[serviceKey(o)];
      if (!a || !mayShare(s, o)) return false;
      const holders = services.filter((x) => {
        const b = result[serviceKey(x)];
        return b && b.ipv4 === a.ipv4 && b.ipv6 === a.ipv6;
      });
      return (
        holders.every((x) => mayShare(s, x)) &&
        live.some((p) => p.name === a.pool && matches(p.serviceSelector, s.labels))
      );
    });
    if (host) {
      result[serviceKey(s)] = result[serviceKey(host)]!;
      continue;
    }
    for (const p of live
      .filter((x) => matches(x.serviceSelector, s.labels))
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const spans = poolSpans(p);
      const ipv4 = firstFree(spans, 4, used),
        ipv6 = firstFree(spans, 6, used);
      if (!ipv4 && !ipv6) continue; // this pool is full: try the next one
      result[serviceKey(s)] = { pool: p.name, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
      if (ipv4) used.add(ipv4);
      if (ipv6) used.add(ipv6);
      break;
    }
  }
  return result;
}

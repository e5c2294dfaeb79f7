// Which services this node may announce, which addresses, and on which interfaces: the
// CiliumL2AnnouncementPolicy rules, as pure functions.
import { type Labels, matches } from '../lab/selector.ts';
import type { Allocation } from './ipam.ts';
import { serviceKey } from './ipam.ts';
import type { Policy, Service } from './manifests.ts';

export interface Announcement {
  service: Service;
  vips: string[]; // IPv4 and IPv6 addresses to answer for
  interfaces: string[]; // this node's interfaces to answer on
  /** Other services announced with it, on the same addresses (byAddress). */
  sharedWith?: string[];
}

/** Interfaces a policy selects (regular expressions, as Cilium; none means all but loopback). */
export function policyInterfaces(policy: Policy, nodeInterfaces: string[]): string[] {
  const candidates = nodeInterfaces.filter((i) => i !== 'lo');
  if (!policy.interfaces.length) return candidates;
  const res = policy.interfaces.map((r) => new RegExp(r));
  return candidates.filter((i) => res.some((re) => re.test(i)));
}

/** Where services' backends run, for externalTrafficPolicy Local (absent: traffic policy ignored). */
export interface Backends {
  node: string;
  /** namespace/name → the nodes with a ready backend (EndpointSlice endpoints' nodeName). */
  endpoints: Record<string, string[]>;
  /** envoy: a Gateway's backend is the Envoy on every node; endpoints: only its service's endpoints count. */
  gateways: 'envoy' | 'endpoints';
}

/**
 * externalTrafficPolicy Local: a node without a local backend drops the traffic, so it must not
 * announce (Cilium #46399); a Gateway's traffic goes to the node's own Envoy, so every node has
 * one (Cilium #48799: its synthetic endpoint names no node, and the Gateway went unannounced).
 */
export function hasLocalBackend(s: Service, b: Backends): boolean {
  if (s.gateway && b.gateways === 'envoy') return true;
  return (b.endpoints[serviceKey(s)] ?? []).includes(b.node);
}

/** What this node is a candidate to announce: one entry per service, all matching policies merged. */
export function announcements(
  policies: Policy[],
  services: Service[],
  alloc: Record<string, Allocation>,
  nodeLabels: Labels,
  nodeInterfaces: string[],
  backends?: Backends,
): Announcement[] {
  const out: Announcement[] = [];
  for (const s of services) {
    if (backends && s.trafficPolicy === 'Local' && !hasLocalBackend(s, backends)) continue;
    const vips = new Set<string>();
    const ifaces = new Set<string>();
    for (const p of policies) {
      if (!matches(p.nodeSelector, nodeLabels) || !matches(p.serviceSelector, s.labels)) continue;
      const a = alloc[serviceKey(s)];
      const ips = [...(p.loadBalancerIPs && a ? [a.ipv4, a.ipv6] : []), ...(p.externalIPs ? s.externalIPs : [])].filter(
        (x): x is string => !!x,
      );
      if (!ips.length) continue;
      for (const ip of ips) vips.add(ip);
      for (const i of policyInterfaces(p, nodeInterfaces)) ifaces.add(i);
    }
    if (vips.size && ifaces.size) out.push({ service: s, vips: [...vips], interfaces: [...ifaces].sort() });
  }
  return out;
}

/**
 * One announcement per address: services that share one (LB-IPAM sharing key) are announced under
 * one lease, the first service's in namespace/name order. Separate elections per service would let
 * two nodes answer for the same address (Cilium #48419).
 */
export function byAddress(anns: Announcement[]): Announcement[] {
  const sorted = [...anns].sort((a, b) => serviceKey(a.service).localeCompare(serviceKey(b.service)));
  // Union-find: services join when they share an address, also through a third one.
  const root = sorted.map((_, i) => i);
  const find = (i: number): number => (root[i] === i ? i : (root[i] = find(root[i]!)));
  for (let i = 0; i < sorted.length; i++)
    for (let j = i + 1; j < sorted.length; j++)
      if (sorted[j]!.vips.some((v) => sorted[i]!.vips.includes(v))) {
        const [a, b] = [find(i), find(j)].sort((x, y) => x - y);
        root[b!] = a!;
      }
  const out: Announcement[] = [];
  sorted.forEach((a, i) => {
    if (find(i) === i) {
      out.push({ ...a });
      return;
    }
    const into = out.find((o) => o.service === sorted[find(i)]!.service)!;
    into.vips = [...new Set([...into.vips, ...a.vips])];
    into.interfaces = [...new Set([...into.interfaces, ...a.interfaces])].sort();
    into.sharedWith = [...(into.sharedWith ?? []), serviceKey(a.service)];
  });
  return out;
}

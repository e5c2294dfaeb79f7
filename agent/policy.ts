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
}

/** Interfaces a policy selects (regular expressions, as Cilium; none means all but loopback). */
export function policyInterfaces(policy: Policy, nodeInterfaces: string[]): string[] {
  const candidates = nodeInterfaces.filter((i) => i !== 'lo');
  if (!policy.interfaces.length) return candidates;
  const res = policy.interfaces.map((r) => new RegExp(r));
  return candidates.filter((i) => res.some((re) => re.test(i)));
}

/** What this node is a candidate to announce: one entry per service, all matching policies merged. */
export function announcements(
  policies: Policy[],
  services: Service[],
  alloc: Record<string, Allocation>,
  nodeLabels: Labels,
  nodeInterfaces: string[],
): Announcement[] {
  const out: Announcement[] = [];
  for (const s of services) {
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

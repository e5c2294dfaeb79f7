// Further L2 domains of a lab file: their NICs and subnets, pools, policies, and the selectors that
// keep each service in its own domain.
import { type Cidr, cidrRange, inCidr, overlaps, parseIp, type Range } from '../ip.ts';
import { matches } from '../selector.ts';
import { type Domain, type LabHost, MANAGEMENT_INTERFACE, SWITCH_INTERFACE } from '../types.ts';
import { blockRange, checkedCidr, describe, type Report } from './addresses.ts';
import type { LabFile } from './schema.ts';

type RawDomain = LabFile['domains'][number];

/** A domain as far as hosts need it (NIC, subnets, members); pools and policies come after. */
export interface PreDomain {
  raw: RawDomain;
  path: string;
  name: string;
  kind: 'vlan' | 'switch';
  vlan?: number;
  interface: string;
  v4?: Cidr;
  v6?: Cidr;
  nodes: string[];
  label: string;
  interfaces: string[];
}

// A domain's own switch is the bridge "br-<name>" in the switch namespace: 15 characters at most.
export const DOMAIN_NAME_MAX = 12;

export function preDomains(raw: LabFile, taken: (Cidr | undefined)[], report: Report): PreDomain[] {
  const out: PreDomain[] = [];
  const nodeNames = raw.nodes.map((n) => n.name);
  const subnets: [Cidr, string][] = [];
  const [sw4, mg4, sw6] = taken;
  if (sw4) subnets.push([sw4, 'switch.ipv4']);
  if (mg4) subnets.push([mg4, 'management.ipv4']);
  if (sw6) subnets.push([sw6, 'switch.ipv6']);
  let switches = 0;
  raw.domains.forEach((d, i) => {
    const path = `domains[${i}]`;
    if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(d.name) || d.name.length > DOMAIN_NAME_MAX)
      report(
        `${path}.name`,
        `"${d.name}" must be lower-case letters, digits and "-", starting with a letter, at most ${DOMAIN_NAME_MAX} characters (it ` +
          `names the domain's switch, br-<name>)`,
      );
    const twin = out.find((o) => o.name === d.name);
    if (twin) report(`${path}.name`, `duplicate domain name "${d.name}" (also ${twin.path})`);
    if ((d.vlan === undefined) === !d.switch)
      report(path, 'give either vlan: ID (a tagged VLAN on the lab switch) or switch: true (a switch of its own)');
    if (d.vlan !== undefined && (d.vlan < 1 || d.vlan > 4094))
      report(`${path}.vlan`, `${d.vlan} is not a VLAN ID; use 1 to 4094`);
    const sameVlan = out.find((o) => d.vlan !== undefined && o.vlan === d.vlan);
    if (sameVlan) report(`${path}.vlan`, `VLAN ${d.vlan} is also ${sameVlan.path}; one domain per VLAN`);
    const kind = d.vlan !== undefined ? 'vlan' : 'switch';
    const iface = kind === 'vlan' ? `${SWITCH_INTERFACE}.${d.vlan}` : `eth${2 + switches++}`;
    const v4 = checkedCidr(`${path}.ipv4`, d.ipv4, 4, report);
    const v6 = checkedCidr(`${path}.ipv6`, d.ipv6, 6, report);
    for (const [c, p] of [
      [v4, `${path}.ipv4`],
      [v6, `${path}.ipv6`],
    ] as [Cidr | undefined, string][]) {
      if (!c) continue;
      const clash = subnets.find(([o]) => o.family === c.family && overlaps(cidrRange(o), cidrRange(c)));
      if (clash) report(p, `${c.text} overlaps ${clash[1]} (${clash[0].text}); every L2 domain needs its own subnet`);
      subnets.push([c, p]);
    }
    const nodes = d.nodes ?? nodeNames;
    (d.nodes ?? []).forEach((n, j) => {
      if (!nodeNames.includes(n))
        report(`${path}.nodes[${j}]`, `no node "${n}" in this lab; nodes: ${nodeNames.join(', ')}`);
      if (d.nodes!.indexOf(n) !== j) report(`${path}.nodes[${j}]`, `"${n}" is listed twice`);
    });
    if (!nodes.length) report(`${path}.nodes`, 'lists no node; a domain needs nodes to announce in it');
    for (const n of Object.keys(d.nodeAddresses ?? {}))
      if (!nodes.includes(n))
        report(`${path}.nodeAddresses.${n}`, `"${n}" is not on domain ${d.name} (its nodes: ${nodes.join(', ')})`);
    out.push({
      raw: d,
      path,
      name: d.name,
      kind,
      ...(d.vlan !== undefined ? { vlan: d.vlan } : {}),
      interface: iface,
      v4,
      v6,
      nodes,
      label: `l2lab.io/domain-${d.name}`,
      interfaces: d.policy.interfaces ?? [`^${iface.replace('.', '\\.')}$`],
    });
  });
  return out;
}

/** Pool blocks: inside the domain's subnet of their family, apart from host addresses and every other block. */
export function checkBlocks(
  path: string,
  raw: { cidr?: string; start?: string; stop?: string }[],
  subnets: { 4?: Cidr; 6?: Cidr },
  where: string,
  used: Map<string, string>,
  all: Range[],
  report: Report,
): void {
  const mine: Range[] = [];
  let bad = 0;
  raw.forEach((b, i) => {
    const p = `${path}.blocks[${i}]`;
    const r = blockRange(p, b, report);
    if (!r) {
      bad++;
      return;
    }
    const subnet = subnets[r.family];
    if (subnet && !(inCidr(subnet, r.family, r.first) && inCidr(subnet, r.family, r.last)))
      report(
        p,
        `${describe(b)} lies outside the ${where} subnet ${subnet.text}; L2 announcements only reach the ${where}'s own subnet, so pick ` +
          `addresses inside it`,
      );
    for (const [addr, who] of used) {
      const ip = parseIp(addr);
      if (ip && overlaps(r, { family: ip.family, first: ip.value, last: ip.value }))
        report(
          p,
          `${describe(b)} contains ${addr}, the address of ${who}; keep pool addresses apart from host addresses`,
        );
    }
    if (all.some((o) => overlaps(o, r))) report(p, `${describe(b)} overlaps another pool block`);
    all.push(r);
    mine.push(r);
  });
  for (const f of [4, 6] as const)
    if (subnets[f] && !bad && !mine.some((b) => b.family === f))
      report(`${path}.blocks`, `no IPv${f} block; add one inside ${subnets[f]!.text} (the lab tests IPv4 and IPv6)`);
}

/** A policy's interface regexes: valid, matching its own domain's NIC, and no other lab NIC. */
export function checkInterfaces(
  path: string,
  res: string[],
  own: string,
  nics: { name: string; what: string }[],
  report: Report,
  /** The management NIC's name, where the lab has one by name. */
  management: string | undefined = MANAGEMENT_INTERFACE,
): void {
  res.forEach((re, i) => {
    try {
      new RegExp(re);
    } catch (e) {
      report(`${path}.interfaces[${i}]`, `"${re}" is not a valid regular expression: ${(e as Error).message}`);
    }
  });
  const match = (name: string) =>
    res.some((re) => {
      try {
        return new RegExp(re).test(name);
      } catch {
        return false;
      }
    });
  const exact = `^${own.replace('.', '\\.')}$`;
  if (!match(own))
    report(
      `${path}.interfaces`,
      `matches no interface of its L2 domain; the nodes' NIC there is ${own}: add "${exact}"`,
    );
  if (management && match(management))
    report(
      `${path}.interfaces`,
      `matches the management interface ${management}; announce on ${own} only (write ${exact})`,
    );
  for (const n of nics.filter((x) => x.name !== own && match(x.name)))
    report(
      `${path}.interfaces`,
      `matches ${n.name} (${n.what}) as well: its services would be announced in another L2 domain; write ${exact}`,
    );
}

/** Pools and policies of the domains, and the selectors that keep each service in its own domain. */
export function finishDomains(raw: LabFile, pre: PreDomain[], hosts: LabHost[], report: Report): Domain[] {
  const nodes = hosts.filter((h) => h.role !== 'client');
  const poolNames = new Map<string, string>([[raw.pool.name, 'pool.name']]);
  const out: Domain[] = pre.map((d) => {
    const poolName = d.raw.pool.name ?? `${d.name}-pool`;
    const twin = poolNames.get(poolName);
    if (twin) report(`${d.path}.pool.name`, `pool "${poolName}" is also ${twin}; pool names must be unique`);
    poolNames.set(poolName, `${d.path}.pool.name`);
    const serviceSelector = d.raw.pool.serviceSelector ?? { matchLabels: { 'l2lab.io/domain': d.name } };
    if (!serviceSelector.matchLabels || !Object.keys(serviceSelector.matchLabels).length)
      report(
        `${d.path}.pool.serviceSelector`,
        "needs matchLabels: the lab labels the domain's service with them (or leave it out: l2lab.io/domain: <name>)",
      );
    const nodeSelector = d.raw.policy.nodeSelector ?? { matchLabels: { [d.label]: 'true' } };
    const selected = nodes.filter((n) => matches(nodeSelector, n.labels));
    if (!selected.length) report(`${d.path}.policy.nodeSelector`, 'matches no node; select nodes of this domain');
    for (const n of selected.filter((x) => !d.nodes.includes(x.name)))
      report(
        `${d.path}.policy.nodeSelector`,
        `selects ${n.name}, which is not on domain ${d.name} (${d.path}.nodes): it has no NIC there to announce on`,
      );
    if (!d.raw.policy.loadBalancerIPs && !d.raw.policy.externalIPs)
      report(`${d.path}.policy`, 'announces nothing: set loadBalancerIPs and/or externalIPs to true');
    return {
      name: d.name,
      kind: d.kind,
      ...(d.vlan !== undefined ? { vlan: d.vlan } : {}),
      interface: d.interface,
      ipv4: d.v4?.text ?? d.raw.ipv4,
      ipv6: d.v6?.text ?? d.raw.ipv6,
      nodes: d.nodes,
      label: d.label,
      pool: { name: poolName, blocks: d.raw.pool.blocks, serviceSelector },
      policy: {
        name: d.raw.policy.name ?? `${d.name}-services`,
        interfaces: d.interfaces,
        nodeSelector,
        serviceSelector: d.raw.policy.serviceSelector ?? serviceSelector,
        loadBalancerIPs: d.raw.policy.loadBalancerIPs,
        externalIPs: d.raw.policy.externalIPs,
      },
    };
  });
  // Each domain's service (labelled with its pool's matchLabels) belongs to that domain alone:
  // another pool would give it a second address, another policy would announce it elsewhere.
  const pools = [
    { path: 'pool.serviceSelector', sel: raw.pool.serviceSelector, domain: '' },
    ...out.map((d, i) => ({
      path: `${pre[i]!.path}.pool.serviceSelector`,
      sel: d.pool.serviceSelector,
      domain: d.name,
    })),
  ];
  const policies = [
    { path: 'policy.serviceSelector', sel: raw.policy.serviceSelector, domain: '' },
    ...out.map((d, i) => ({ path: `${pre[i]!.path}.policy`, sel: d.policy.serviceSelector, domain: d.name })),
  ];
  out.forEach((d, i) => {
    const labels = d.pool.serviceSelector?.matchLabels ?? {};
    const shown = JSON.stringify(labels);
    if (!matches(d.policy.serviceSelector, labels))
      report(`${pre[i]!.path}.policy.serviceSelector`, `does not select the domain's own service (labels ${shown})`);
    for (const p of pools.filter((x) => x.domain !== d.name && matches(x.sel, labels)))
      report(p.path, `selects domain ${d.name}'s service (labels ${shown}) too: two pools would claim it; narrow it`);
    for (const p of policies.filter((x) => x.domain !== d.name && matches(x.sel, labels)))
      report(
        p.path,
        `selects domain ${d.name}'s service (labels ${shown}) too: it would be announced in ${
          p.domain ? `domain ${p.domain}` : 'the ' + 'lab switch'
        }'s L2 domain as well; narrow the serviceSelector`,
      );
  });
  return out;
}

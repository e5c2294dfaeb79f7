// Lab file: raw YAML shape (zod, strict), semantic checks, and resolution into a Lab.
// Every problem is collected and reported together, each with its path and a fix.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { type Cidr, cidrRange, formatIp, inCidr, nthAddress, overlaps, parseCidr, parseIp, type Range } from './ip.ts';
import { providerCapabilities, providerNames } from './providers/catalog.ts';
import { vagrantSchema, validateVagrant, vmSchema } from './providers/vagrant/config.ts';
import { matches, selectorSchema } from './selector.ts';
import {
  type Domain,
  type HostInterface,
  type Lab,
  type LabHost,
  MANAGEMENT_INTERFACE,
  type Role,
  SWITCH_INTERFACE,
} from './types.ts';
import { formatPath, issueMessage } from './validation.ts';

// Link names on the host are "l2l-<lab>-m<NN>" and must fit Linux's 15-character limit.
export const LAB_NAME_MAX = 7;
export const NODE_NAME_MAX = 15;
export const MAX_NODES = 99;

const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, 'a duration such as "15s", "500ms" or "1m"');
const labels = z.record(
  z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/, 'a Kubernetes label key'),
  z.string().max(63),
);

const hostSchema = z.strictObject({
  name: z.string(),
  role: z.enum(['control-plane', 'worker']).default('worker'),
  labels: labels.default({}),
  ipv4: z.string().optional(),
  ipv6: z.string().optional(),
  mac: z
    .string()
    .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'a lower-case MAC such as 02:4c:00:00:01:01')
    .optional(),
  vm: vmSchema.optional(),
});

const blockSchema = z.strictObject({
  cidr: z.string().optional(),
  start: z.string().optional(),
  stop: z.string().optional(),
});

const domainSchema = z.strictObject({
  name: z.string(),
  /** A tagged VLAN on the lab switch (NIC eth1.<vlan>) … */
  vlan: z.number().int().optional(),
  /** … or a switch of its own (NIC eth2, eth3, … in file order). */
  switch: z.boolean().optional(),
  ipv4: z.string(),
  ipv6: z.string(),
  /** The nodes on it (default: every node); the client is on every domain. */
  nodes: z.array(z.string()).optional(),
  pool: z.strictObject({
    name: z.string().optional(),
    blocks: z.array(blockSchema).min(1),
    serviceSelector: selectorSchema.optional(),
  }),
  policy: z
    .strictObject({
      name: z.string().optional(),
      interfaces: z.array(z.string()).min(1).optional(),
      nodeSelector: selectorSchema.optional(),
      serviceSelector: selectorSchema.optional(),
      loadBalancerIPs: z.boolean().default(true),
      externalIPs: z.boolean().default(false),
    })
    .default({ loadBalancerIPs: true, externalIPs: false }),
});

export const labFileSchema = z.strictObject({
  name: z.string(),
  provider: z.string().default('netns'),
  switch: z.strictObject({
    ipv4: z.string(),
    ipv6: z.string(),
    /**
     * The lab switch snoops MLD/IGMP (with a querier), as Proxmox's bridges and many real switches
     * do: a neighbour solicitation reaches only the ports that joined its solicited-node group.
     */
    multicastSnooping: z.boolean().default(false),
  }),
  management: z.strictObject({ ipv4: z.string().default('198.19.0.0/24') }).default({ ipv4: '198.19.0.0/24' }),
  nodes: z.array(hostSchema).min(1),
  client: z
    .strictObject({
      name: z.string().default('client'),
      ipv4: z.string().optional(),
      ipv6: z.string().optional(),
      mac: hostSchema.shape.mac,
      vm: vmSchema.optional(),
    })
    .default({ name: 'client' }),
  pool: z.strictObject({
    name: z.string().default('lb-ip-pool'),
    blocks: z.array(blockSchema).min(1),
    serviceSelector: selectorSchema.optional(),
  }),
  policy: z.strictObject({
    name: z.string().default('l2announced-services'),
    interfaces: z.array(z.string()).min(1),
    nodeSelector: selectorSchema.optional(),
    serviceSelector: selectorSchema.optional(),
    loadBalancerIPs: z.boolean().default(true),
    externalIPs: z.boolean().default(false),
  }),
  /** Further L2 domains: VLANs on the lab switch, or switches of their own, each with a pool and a policy. */
  domains: z.array(domainSchema).default([]),
  versions: z
    .strictObject({
      kubernetes: z.string().default('1.34'),
      cilium: z.string().default('1.20.0'),
      /** Unset: the pair from Cilium's row in playbooks/files/cilium/versions.yaml. */
      gatewayAPI: z.string().optional(),
    })
    .default({ kubernetes: '1.34', cilium: '1.20.0' }),
  vagrant: vagrantSchema, // the vagrant provider's own settings (lab/providers/vagrant/config.ts)
  lease: z
    .strictObject({
      duration: duration.default('15s'),
      renewDeadline: duration.default('5s'),
      retryPeriod: duration.default('2s'),
    })
    .default({ duration: '15s', renewDeadline: '5s', retryPeriod: '2s' }),
});

export type LabFile = z.infer<typeof labFileSchema>;

export interface LabProblem {
  path: string;
  message: string;
}

export class LabFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: LabProblem[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p.path || '(top)'}: ${p.message}`).join('\n'),
    );
    this.name = 'LabFileError';
  }
}

export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text)!;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2] as 'ms' | 's' | 'm']);
}

/** Valid keys of the object schema at a path, to tell the user what an unknown key could have been. */
function keysAt(path: readonly PropertyKey[]): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: walks zod's internal schema tree, which zod does not type
  let s: any = labFileSchema;
  const unwrap = () => {
    while (s?._zod?.def?.innerType) s = s._zod.def.innerType;
  };
  unwrap();
  for (const p of path) {
    if (typeof p === 'number') s = s?._zod?.def?.element;
    else s = s?.shape?.[p];
    unwrap();
  }
  return s?.shape ? Object.keys(s.shape) : [];
}

function zodProblems(error: z.ZodError): LabProblem[] {
  return error.issues.map((i) => ({
    path: formatPath(i.path),
    message: issueMessage(i, i.code === 'unrecognized_keys' ? keysAt(i.path) : []),
  }));
}

/** Reads, validates and resolves a lab file; throws LabFileError listing every problem. */
export function loadLab(file: string): Lab {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LabFileError(path, [
      {
        path: '',
        message: `cannot read the lab file (${(e as NodeJS.ErrnoException).code}); pass an existing file with --lab FILE`,
      },
    ]);
  }
  return parseLab(text, path);
}

export function parseLab(text: string, file = '<inline>'): Lab {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length)
    throw new LabFileError(
      file,
      doc.errors.map((e) => ({
        path: `line ${e.linePos?.[0].line ?? '?'}`,
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  const input = doc.toJS();
  let parsed = labFileSchema.safeParse(input);
  const problems: LabProblem[] = [];
  if (!parsed.success) {
    problems.push(...zodProblems(parsed.error));
    // Unknown keys alone do not stop the semantic checks: drop them and check the rest too,
    // so that one run reports every problem of the file.
    if (!parsed.error.issues.every((i) => i.code === 'unrecognized_keys')) throw new LabFileError(file, problems);
    for (const i of parsed.error.issues) {
      // biome-ignore lint/suspicious/noExplicitAny: the raw YAML, before validation
      const obj = i.path.reduce((o: any, k) => o?.[k as string], input);
      if (i.code === 'unrecognized_keys') for (const k of i.keys) delete obj?.[k];
    }
    parsed = labFileSchema.safeParse(input);
    if (!parsed.success) throw new LabFileError(file, problems);
  }
  const lab = resolveLab(parsed.data, file, (path, message) => problems.push({ path, message }));
  if (problems.length) throw new LabFileError(file, problems);
  return lab;
}

type Report = (path: string, message: string) => void;

function macFor(lab: string, iface: number, index: number): string {
  const h = createHash('sha256').update(lab).digest();
  return ['02', '4c', h[0]!, h[1]!, iface, index]
    .map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0')))
    .join(':');
}

/** Writes the default host part as hex digits that read like the decimal (::11 next to .11). */
function defaultV6(subnet: Cidr, hostPart: number): string {
  return formatIp(6, subnet.network + BigInt(`0x${hostPart}`));
}

function resolveLab(raw: LabFile, file: string, report: Report): Lab {
  if (!/^[a-z][a-z0-9]*$/.test(raw.name))
    report(
      'name',
      `"${raw.name}" must be lower-case letters and digits, starting with a letter (it prefixes every host object: l2l-<name>-…)`,
    );
  if (raw.name.length > LAB_NAME_MAX)
    report(
      'name',
      `"${raw.name}" is ${raw.name.length} characters; at most ${LAB_NAME_MAX}, because host link names "l2l-${raw.name}-m99" must fit ` +
        `Linux's 15-character interface names. Use a shorter name`,
    );
  if (!providerNames().includes(raw.provider))
    report('provider', `unknown provider "${raw.provider}"; valid providers: ${providerNames().join(', ')}`);

  validateVagrant(raw.vagrant, report);
  const sw4 = checkedCidr('switch.ipv4', raw.switch.ipv4, 4, report);
  const sw6 = checkedCidr('switch.ipv6', raw.switch.ipv6, 6, report);
  const mg4 = checkedCidr('management.ipv4', raw.management.ipv4, 4, report);
  if (sw4 && mg4 && overlaps(cidrRange(sw4), cidrRange(mg4)))
    report(
      'management.ipv4',
      `${mg4.text} overlaps the switch subnet ${sw4.text}; the management network must be separate (default 198.19.0.0/24)`,
    );
  if (raw.nodes.length > MAX_NODES) report('nodes', `${raw.nodes.length} nodes; at most ${MAX_NODES}`);
  if (!raw.nodes.some((n) => n.role === 'control-plane'))
    report('nodes', 'no node has role control-plane; give one node role: control-plane (it runs the lease store)');

  // Names: unique across nodes and client, usable as hostnames and interface names.
  const seen = new Map<string, string>();
  const names: [string, string][] = [
    ...raw.nodes.map((n, i): [string, string] => [`nodes[${i}].name`, n.name]),
    ['client.name', raw.client.name],
  ];
  for (const [path, name] of names) {
    if (!/^[a-z]([a-z0-9-]*[a-z0-9])?$/.test(name))
      report(path, `"${name}" must be a hostname: lower-case letters, digits and "-", starting with a letter`);
    else if (name.length > NODE_NAME_MAX)
      report(
        path,
        `"${name}" is ${name.length} characters; it becomes an interface name on the lab switch, at most ${NODE_NAME_MAX}. Shorten it`,
      );
    if (name === 'switch') report(path, '"switch" is reserved for the lab switch; choose another name');
    const prev = seen.get(name);
    if (prev) report(path, `duplicate name "${name}" (also ${prev}); names must be unique`);
    else seen.set(name, path);
  }

  const domains = preDomains(raw, [sw4, mg4, sw6], report);

  // Addresses: defaults derived from the index, explicit ones checked; all unique.
  const used = new Map<string, string>();
  const hosts: LabHost[] = [];
  const all = [
    ...raw.nodes.map((n, i) => ({
      raw: n,
      path: `nodes[${i}]`,
      index: i + 1,
      role: n.role as Role,
      labels: n.labels as Record<string, string>,
    })),
    { raw: raw.client, path: 'client', index: 200, role: 'client' as Role, labels: {} as Record<string, string> },
  ];
  for (const h of all) {
    const interfaces: HostInterface[] = [];
    const sw: HostInterface = {
      name: SWITCH_INTERFACE,
      network: 'switch',
      mac: h.raw.mac ?? macFor(raw.name, 1, h.index),
      ipv4: '',
      ipv4Prefix: sw4?.prefix ?? 0,
      ipv6: '',
      ipv6Prefix: sw6?.prefix ?? 0,
    };
    const hostPart = h.role === 'client' ? 200 : 10 + h.index;
    sw.ipv4 = hostAddress(`${h.path}.ipv4`, h.raw.ipv4, sw4, 4, hostPart, report, used);
    sw.ipv6 = hostAddress(`${h.path}.ipv6`, h.raw.ipv6, sw6, 6, hostPart, report, used);
    interfaces.push(sw);
    const labels = { ...h.labels };
    domains.forEach((d, k) => {
      if (h.role !== 'client' && !d.nodes.includes(h.raw.name)) return;
      if (h.role !== 'client') labels[d.label] = 'true';
      const where = `${h.path} (domain ${d.name})`;
      interfaces.push({
        name: d.interface,
        network: 'domain',
        domain: d.name,
        // A VLAN sub-interface is eth1 with a tag: the same NIC, the same MAC.
        mac: d.kind === 'vlan' ? sw.mac : macFor(raw.name, 2 + k, h.index),
        ipv4: d.v4 ? hostAddress(`${where}.ipv4`, undefined, d.v4, 4, hostPart, report, used) : '',
        ipv4Prefix: d.v4?.prefix ?? 0,
        ipv6: d.v6 ? hostAddress(`${where}.ipv6`, undefined, d.v6, 6, hostPart, report, used) : '',
        ipv6Prefix: d.v6?.prefix ?? 0,
      });
    });
    // Nodes are reached over SSH on eth0; a client only where the provider reaches it that way
    // (VMs), else it is driven from the host directly.
    if (h.role !== 'client' || providerCapabilities[raw.provider]?.clientManagement) {
      const m4 = mg4 ? hostAddress(`${h.path} (management)`, undefined, mg4, 4, 10 + h.index, report, used) : '';
      interfaces.unshift({
        name: MANAGEMENT_INTERFACE,
        network: 'management',
        mac: macFor(raw.name, 0, h.index),
        ipv4: m4,
        ipv4Prefix: mg4?.prefix ?? 0,
      });
    }
    hosts.push({
      name: h.raw.name,
      role: h.role,
      index: h.index,
      labels,
      interfaces,
      ...(h.raw.vm ? { vm: h.raw.vm } : {}),
    });
  }
  const macs = new Map<string, string>();
  for (const h of hosts)
    for (const i of h.interfaces.filter((x) => !(x.network === 'domain' && x.name.includes('.')))) {
      const p = macs.get(i.mac);
      if (p) report(`${h.name}.${i.name}`, `MAC ${i.mac} is also used by ${p}; MACs must be unique`);
      macs.set(i.mac, `${h.name}.${i.name}`);
    }

  const subnets = [
    ...(sw4 && sw6 ? [{ ipv4: sw4.text, ipv6: sw6.text }] : []),
    ...domains.flatMap((d) => (d.v4 && d.v6 ? [{ ipv4: d.v4.text, ipv6: d.v6.text }] : [])),
  ];
  for (const net of subnets) {
    const p = proberAddresses({ switch: net });
    for (const a of [...p.ipv4, ...p.ipv6]) {
      const who = used.get(a);
      if (who)
        report(
          who,
          `${a} is reserved for l2lab's conformance prober (host parts ${PROBER_HOST_PARTS.first}-${PROBER_HOST_PARTS.last}); give ` +
            `${who} another address`,
        );
      else used.set(a, "l2lab's conformance prober (reserved)");
    }
  }

  // Pool: blocks inside the switch subnet of their family, not overlapping hosts or each other.
  const poolBlocks: Range[] = [];
  checkBlocks('pool', raw.pool.blocks, { 4: sw4, 6: sw6 }, 'switch', used, poolBlocks, report);
  for (const d of domains)
    checkBlocks(
      `${d.path}.pool`,
      d.raw.pool.blocks,
      { 4: d.v4, 6: d.v6 },
      `domain ${d.name}`,
      used,
      poolBlocks,
      report,
    );

  // Policies: interfaces are regular expressions (Cilium); each must select its own domain's NIC only.
  const nics = [
    { name: SWITCH_INTERFACE, what: 'the lab switch' },
    ...domains.map((d) => ({ name: d.interface, what: `domain ${d.name}` })),
  ];
  checkInterfaces('policy', raw.policy.interfaces, SWITCH_INTERFACE, nics, report);
  for (const d of domains) checkInterfaces(`${d.path}.policy`, d.interfaces, d.interface, nics, report);
  const eligible = raw.nodes.filter((n) => matches(raw.policy.nodeSelector, n.labels));
  if (raw.policy.nodeSelector && eligible.length === 0)
    report(
      'policy.nodeSelector',
      `matches no node (node labels: ${raw.nodes.map((n) => `${n.name} ${JSON.stringify(n.labels)}`).join('; ')}); fix the selector or ` +
        `the nodes' labels`,
    );
  if (!raw.policy.loadBalancerIPs && !raw.policy.externalIPs)
    report('policy', 'announces nothing: set loadBalancerIPs and/or externalIPs to true');

  const resolvedDomains = finishDomains(raw, domains, hosts, report);

  // Lease: the holder must stop before anyone can take over (renewDeadline < duration), and
  // retries must fit in the renew deadline, as client-go's leader election demands.
  const lease = {
    durationMs: durationMs(raw.lease.duration),
    renewDeadlineMs: durationMs(raw.lease.renewDeadline),
    retryPeriodMs: durationMs(raw.lease.retryPeriod),
  };
  if (lease.renewDeadlineMs >= lease.durationMs)
    report(
      'lease.renewDeadline',
      `${raw.lease.renewDeadline} must be shorter than lease.duration (${raw.lease.duration}), or two nodes could answer at once`,
    );
  if (lease.retryPeriodMs * 1.2 >= lease.renewDeadlineMs)
    report(
      'lease.retryPeriod',
      `${raw.lease.retryPeriod} × 1.2 (jitter) must be shorter than lease.renewDeadline (${raw.lease.renewDeadline})`,
    );
  if (lease.retryPeriodMs < 20)
    report('lease.retryPeriod', `${raw.lease.retryPeriod} is below 20ms; use at least 20ms`);

  return {
    name: raw.name,
    file,
    provider: raw.provider,
    switch: {
      ipv4: sw4?.text ?? raw.switch.ipv4,
      ipv6: sw6?.text ?? raw.switch.ipv6,
      ...(raw.switch.multicastSnooping ? { multicastSnooping: true } : {}),
    },
    management: { ipv4: mg4?.text ?? raw.management.ipv4, hostAddress: mg4 ? nthAddress(mg4, 1n) : '' },
    nodes: hosts.filter((h) => h.role !== 'client'),
    client: hosts.find((h) => h.role === 'client')!,
    pool: { name: raw.pool.name, blocks: raw.pool.blocks, serviceSelector: raw.pool.serviceSelector },
    policy: { ...raw.policy },
    domains: resolvedDomains,
    versions: raw.versions,
    vagrant: { ...raw.vagrant, provider: 'libvirt' }, // anything else was reported above
    lease,
  };
}

/**
 * Host parts 224-254 of the switch subnets are the conformance prober's own (never a node's, the
 * client's or the pool's): it sends each round of requests from the next of them, so that every
 * answer names its request by the address it is sent to. 31 rounds before one comes round again:
 * 150 ms at the fastest probe interval (5 ms), the answer timeout on real CPUs.
 */
export const PROBER_HOST_PARTS = { first: 224, last: 254 } as const;
export function proberAddresses(lab: Pick<Lab, 'switch'>): { ipv4: string[]; ipv6: string[] } {
  const v4 = parseCidr(lab.switch.ipv4) as Cidr,
    v6 = parseCidr(lab.switch.ipv6) as Cidr;
  const parts = Array.from(
    { length: PROBER_HOST_PARTS.last - PROBER_HOST_PARTS.first + 1 },
    (_, i) => PROBER_HOST_PARTS.first + i,
  );
  return { ipv4: parts.map((n) => nthAddress(v4, BigInt(n))), ipv6: parts.map((n) => defaultV6(v6, n)) };
}

function checkedCidr(path: string, text: string, family: 4 | 6, report: Report): Cidr | undefined {
  const c = parseCidr(text);
  if (typeof c === 'string') {
    report(path, c);
    return undefined;
  }
  if (c.family !== family) {
    report(path, `${text} is IPv${c.family}; this field takes an IPv${family} subnet`);
    return undefined;
  }
  const room = (family === 4 ? 32 : 128) - c.prefix;
  if (room < 8) report(path, `/${c.prefix} is too small for a lab; use /24 or larger (IPv6: /64)`);
  return c;
}

function hostAddress(
  path: string,
  explicit: string | undefined,
  subnet: Cidr | undefined,
  family: 4 | 6,
  hostPart: number,
  report: Report,
  used: Map<string, string>,
): string {
  if (!subnet) return explicit ?? '';
  let addr: string;
  if (explicit !== undefined) {
    const ip = parseIp(explicit);
    if (!ip || ip.family !== family) {
      report(path, `"${explicit}" is not an IPv${family} address`);
      return explicit;
    }
    addr = formatIp(family, ip.value);
  } else {
    addr = family === 4 ? nthAddress(subnet, BigInt(hostPart)) : defaultV6(subnet, hostPart);
  }
  const ip = parseIp(addr)!;
  const r = cidrRange(subnet);
  if (!inCidr(subnet, family, ip.value)) report(path, `${addr} is outside ${subnet.text}; set an address inside it`);
  else if (family === 4 && (ip.value === r.first || ip.value === r.last))
    report(path, `${addr} is the network or broadcast address of ${subnet.text}`);
  const owner = path.replace(/\.ipv[46]$/, '');
  const prev = used.get(addr);
  if (prev) report(path, `${addr} is also used by ${prev}; addresses must be unique`);
  else used.set(addr, owner);
  return addr;
}

function describe(b: { cidr?: string; start?: string; stop?: string }): string {
  return b.cidr ?? `${b.start}-${b.stop}`;
}

function blockRange(
  path: string,
  b: { cidr?: string; start?: string; stop?: string },
  report: Report,
): Range | undefined {
  if (b.cidr !== undefined) {
    if (b.start !== undefined || b.stop !== undefined) {
      report(path, 'give either cidr or start/stop, not both');
      return undefined;
    }
    const c = parseCidr(b.cidr);
    if (typeof c === 'string') {
      report(`${path}.cidr`, c);
      return undefined;
    }
    return cidrRange(c);
  }
  if (b.start === undefined || b.stop === undefined) {
    report(path, 'needs cidr, or both start and stop');
    return undefined;
  }
  const s = parseIp(b.start),
    e = parseIp(b.stop);
  if (!s) report(`${path}.start`, `"${b.start}" is not an IP address`);
  if (!e) report(`${path}.stop`, `"${b.stop}" is not an IP address`);
  if (!s || !e) return undefined;
  if (s.family !== e.family) {
    report(path, `start is IPv${s.family} and stop IPv${e.family}; use one family per block`);
    return undefined;
  }
  if (s.value > e.value) {
    report(path, `start ${b.start} comes after stop ${b.stop}; swap them`);
    return undefined;
  }
  return { family: s.family, first: s.value, last: e.value };
}

// ---- L2 domains ----------------------------------------------------------------------------

type RawDomain = LabFile['domains'][number];

/** A domain as far as hosts need it (NIC, subnets, members); pools and policies come after. */
interface PreDomain {
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

function preDomains(raw: LabFile, taken: (Cidr | undefined)[], report: Report): PreDomain[] {
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
function checkBlocks(
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
function checkInterfaces(
  path: string,
  res: string[],
  own: string,
  nics: { name: string; what: string }[],
  report: Report,
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
  if (match(MANAGEMENT_INTERFACE))
    report(
      `${path}.interfaces`,
      `matches the management interface ${MANAGEMENT_INTERFACE}; announce on ${own} only (write ${exact})`,
    );
  for (const n of nics.filter((x) => x.name !== own && match(x.name)))
    report(
      `${path}.interfaces`,
      `matches ${n.name} (${n.what}) as well: its services would be announced in another L2 domain; write ${exact}`,
    );
}

/** Pools and policies of the domains, and the selectors that keep each service in its own domain. */
function finishDomains(raw: LabFile, pre: PreDomain[], hosts: LabHost[], report: Report): Domain[] {
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

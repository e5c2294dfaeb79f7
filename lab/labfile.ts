// Lab file: raw YAML shape (zod, strict), semantic checks, and resolution into a Lab.
// Every problem is collected and reported together, each with its path and a fix.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { type Cidr, cidrRange, formatIp, inCidr, nthAddress, overlaps, parseCidr, parseIp, type Range } from './ip.ts';
import { providerCapabilities, providerNames } from './providers/catalog.ts';
import { matches, selectorSchema } from './selector.ts';
import {
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

/** Per-machine VM settings for the vagrant provider (ignored by netns). */
const vmSchema = z.strictObject({
  box: z.string().optional(),
  boxVersion: z.string().optional(),
  cpus: z.number().int().min(1).max(64).optional(),
  memory: z.number().int().min(256).max(262144).optional(), // MiB
});

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

export const labFileSchema = z.strictObject({
  name: z.string(),
  provider: z.string().default('netns'),
  switch: z.strictObject({ ipv4: z.string(), ipv6: z.string() }),
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
  versions: z
    .strictObject({
      kubernetes: z.string().default('1.34'),
      cilium: z.string().default('1.20.0-pre.1'),
      gatewayAPI: z.string().default('v1.4.1'),
    })
    .default({ kubernetes: '1.34', cilium: '1.20.0-pre.1', gatewayAPI: 'v1.4.1' }),
  vagrant: z
    .strictObject({
      box: z.string().default('l2lab/debian12'),
      boxVersion: z.string().optional(),
      provider: z.enum(['libvirt', 'virtualbox']).default('libvirt'),
      /** libvirt: kvm, or qemu (software emulation, where KVM is unusable). */
      driver: z.enum(['kvm', 'qemu']).default('kvm'),
      cpus: z.number().int().min(1).max(64).default(2),
      memory: z.number().int().min(256).default(2048),
      /** Management network with NAT to the host's uplink (package downloads on users' machines). Off: SSH only, no route out. */
      nat: z.boolean().default(false),
    })
    .default({ box: 'l2lab/debian12', provider: 'libvirt', driver: 'kvm', cpus: 2, memory: 2048, nat: false }),
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
      `"${raw.name}" is ${raw.name.length} characters; at most ${LAB_NAME_MAX}, because host link names "l2l-${raw.name}-m99" must fit Linux's 15-character interface names. Use a shorter name`,
    );
  if (!providerNames().includes(raw.provider))
    report('provider', `unknown provider "${raw.provider}"; valid providers: ${providerNames().join(', ')}`);

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
      labels: h.labels,
      interfaces,
      ...(h.raw.vm ? { vm: h.raw.vm } : {}),
    });
  }
  const macs = new Map<string, string>();
  for (const h of hosts)
    for (const i of h.interfaces) {
      const p = macs.get(i.mac);
      if (p) report(`${h.name}.${i.name}`, `MAC ${i.mac} is also used by ${p}; MACs must be unique`);
      macs.set(i.mac, `${h.name}.${i.name}`);
    }

  if (sw4 && sw6) {
    const p = proberAddresses({ switch: { ipv4: sw4.text, ipv6: sw6.text } });
    for (const a of [p.ipv4, p.ipv6]) {
      const who = used.get(a);
      if (who)
        report(
          who,
          `${a} is reserved for l2lab's conformance prober (host part ${PROBER_HOST_PART}); give ${who} another address`,
        );
      else used.set(a, "l2lab's conformance prober (reserved)");
    }
  }

  // Pool: blocks inside the switch subnet of their family, not overlapping hosts or each other.
  const blocks: Range[] = [];
  let badBlocks = 0;
  raw.pool.blocks.forEach((b, i) => {
    const path = `pool.blocks[${i}]`;
    const r = blockRange(path, b, report);
    if (!r) {
      badBlocks++;
      return;
    }
    const subnet = r.family === 4 ? sw4 : sw6;
    if (subnet && !(inCidr(subnet, r.family, r.first) && inCidr(subnet, r.family, r.last)))
      report(
        path,
        `${describe(b)} lies outside the switch subnet ${subnet.text}; L2 announcements only reach the switch's own subnet, so pick addresses inside it`,
      );
    for (const [addr, who] of used) {
      const ip = parseIp(addr);
      if (ip && overlaps(r, { family: ip.family, first: ip.value, last: ip.value }))
        report(
          path,
          `${describe(b)} contains ${addr}, the address of ${who}; keep pool addresses apart from host addresses`,
        );
    }
    blocks.forEach((o, j) => {
      if (overlaps(o, r)) report(path, `${describe(b)} overlaps pool.blocks[${j}]`);
    });
    blocks.push(r);
  });
  if (sw4 && !badBlocks && !blocks.some((b) => b.family === 4))
    report('pool.blocks', 'no IPv4 block; add one inside switch.ipv4 (the lab tests IPv4 and IPv6)');
  if (sw6 && !badBlocks && !blocks.some((b) => b.family === 6))
    report('pool.blocks', 'no IPv6 block; add one inside switch.ipv6 (the lab tests IPv4 and IPv6)');

  // Policy: interfaces are regular expressions (Cilium); they must select the switch NIC only.
  raw.policy.interfaces.forEach((re, i) => {
    try {
      new RegExp(re);
    } catch (e) {
      report(`policy.interfaces[${i}]`, `"${re}" is not a valid regular expression: ${(e as Error).message}`);
    }
  });
  const ifaceMatch = (name: string) =>
    raw.policy.interfaces.some((re) => {
      try {
        return new RegExp(re).test(name);
      } catch {
        return false;
      }
    });
  if (!ifaceMatch(SWITCH_INTERFACE))
    report(
      'policy.interfaces',
      `matches no lab switch interface; the nodes' switch interface is ${SWITCH_INTERFACE}: add "${SWITCH_INTERFACE}"`,
    );
  if (ifaceMatch(MANAGEMENT_INTERFACE))
    report(
      'policy.interfaces',
      `matches the management interface ${MANAGEMENT_INTERFACE}; announce on ${SWITCH_INTERFACE} only (write ^${SWITCH_INTERFACE}$)`,
    );
  const eligible = raw.nodes.filter((n) => matches(raw.policy.nodeSelector, n.labels));
  if (raw.policy.nodeSelector && eligible.length === 0)
    report(
      'policy.nodeSelector',
      `matches no node (node labels: ${raw.nodes.map((n) => `${n.name} ${JSON.stringify(n.labels)}`).join('; ')}); fix the selector or the nodes' labels`,
    );
  if (!raw.policy.loadBalancerIPs && !raw.policy.externalIPs)
    report('policy', 'announces nothing: set loadBalancerIPs and/or externalIPs to true');

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
    switch: { ipv4: sw4?.text ?? raw.switch.ipv4, ipv6: sw6?.text ?? raw.switch.ipv6 },
    management: { ipv4: mg4?.text ?? raw.management.ipv4, hostAddress: mg4 ? nthAddress(mg4, 1n) : '' },
    nodes: hosts.filter((h) => h.role !== 'client'),
    client: hosts.find((h) => h.role === 'client')!,
    pool: { name: raw.pool.name, blocks: raw.pool.blocks, serviceSelector: raw.pool.serviceSelector },
    policy: { ...raw.policy },
    versions: raw.versions,
    vagrant: raw.vagrant,
    lease,
  };
}

/** Host part 250 of the switch subnets is the conformance prober's own (never a node's, the client's or the pool's). */
export const PROBER_HOST_PART = 250;
export function proberAddresses(lab: Pick<Lab, 'switch'>): { ipv4: string; ipv6: string } {
  const v4 = parseCidr(lab.switch.ipv4) as Cidr,
    v6 = parseCidr(lab.switch.ipv6) as Cidr;
  return { ipv4: nthAddress(v4, BigInt(PROBER_HOST_PART)), ipv6: defaultV6(v6, PROBER_HOST_PART) };
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

// Lab file: raw YAML shape (labfile/schema.ts, zod, strict), semantic checks, and resolution into a
// Lab (here; addresses in labfile/addresses.ts, further L2 domains in labfile/domains.ts). Every
// problem is collected and reported together, each with its path and a fix.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { PROBER_HOST_PARTS, proberAddresses } from './addresses.ts';
import { switchNic } from './hosts.ts';
import { cidrRange, inCidr, nthAddress, overlaps, parseIp, type Range } from './ip.ts';
import { checkedCidr, hostAddress, macFor, type Report } from './labfile/addresses.ts';
import { checkBlocks, checkInterfaces, finishDomains, preDomains } from './labfile/domains.ts';
import {
  durationMs,
  LAB_NAME_MAX,
  type LabFile,
  LabFileError,
  type LabProblem,
  labFileSchema,
  MAX_NODES,
  NODE_NAME_MAX,
  zodProblems,
} from './labfile/schema.ts';
import { leaseProblems } from './lease.ts';
import { expandHome } from './paths.ts';
import { providerCapabilities, providerNames } from './providers/catalog.ts';
import { resolveHosts } from './providers/hosts/config.ts';
import { validateVagrant } from './providers/vagrant/config.ts';
import { matches } from './selector.ts';
import {
  type HostInterface,
  type KubernetesSettings,
  type Lab,
  type LabHost,
  MANAGEMENT_INTERFACE,
  type Role,
  SWITCH_INTERFACE,
} from './types.ts';

export { LabFileError } from './labfile/schema.ts';

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

/** Where kubectl runs (a node of the lab, its control plane, or this machine) and the Gateway it reads. */
function resolveKubernetes(raw: LabFile, labDir: string, report: Report): KubernetesSettings {
  const k = raw.kubernetes;
  const names = raw.nodes.map((n) => n.name);
  if (k.on !== 'local' && k.on !== 'control-plane' && !names.includes(k.on))
    report(
      'kubernetes.on',
      `"${k.on}" is no node of the lab: give control-plane, a node's name (${names.join(', ')}), or local (this machine)`,
    );
  if (k.on !== 'local' && !k.kubeconfig.startsWith('/'))
    report('kubernetes.kubeconfig', `"${k.kubeconfig}" is a path on ${k.on}: give it absolute`);
  return kubernetesSettings(k, labDir);
}

/** The raw `kubernetes:` resolved: the Gateway split, a local kubeconfig's path made absolute. */
function kubernetesSettings(k: LabFile['kubernetes'], labDir: string): KubernetesSettings {
  const [namespace = '', name = ''] = k.gateway.split('/');
  return {
    on: k.on,
    kubeconfig: k.on === 'local' ? expandHome(k.kubeconfig, labDir) : k.kubeconfig,
    gateway: { namespace, name },
  };
}

/** What a lab file without `kubernetes:` means (the schema's defaults); also a lab saved before the field existed. */
export const DEFAULT_KUBERNETES: KubernetesSettings = kubernetesSettings(
  labFileSchema.shape.kubernetes.parse(undefined),
  '/',
);

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
  // Machines l2lab did not build (provider: hosts) name their own NICs; their MACs and addresses are observed at lab:up.
  const built = providerCapabilities[raw.provider]?.builtByL2lab ?? true;
  const hostsSettings = resolveHosts(raw, dirname(file), report);
  const sw4 = checkedCidr('switch.ipv4', raw.switch.ipv4, 4, report);
  const sw6 = checkedCidr('switch.ipv6', raw.switch.ipv6, 6, report);
  const mg4 = checkedCidr('management.ipv4', raw.management.ipv4, 4, report);
  if (sw4 && mg4 && overlaps(cidrRange(sw4), cidrRange(mg4)))
    report(
      'management.ipv4',
      `${mg4.text} overlaps the switch subnet ${sw4.text}; the management network must be separate (default 198.19.0.0/24)`,
    );
  if (raw.nodes.length > MAX_NODES) report('nodes', `${raw.nodes.length} nodes; at most ${MAX_NODES}`);
  // Machines l2lab did not build may have none (a keepalived pair): what needs one says so (controlPlane).
  if (raw.provider !== 'hosts' && !raw.nodes.some((n) => n.role === 'control-plane'))
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
      name: built ? SWITCH_INTERFACE : (hostsSettings?.machines[h.raw.name]?.nic ?? ''), // '': reported missing
      network: 'switch',
      mac: h.raw.mac ?? (built ? macFor(raw.name, 1, h.index) : ''),
      ipv4: '',
      ipv4Prefix: sw4?.prefix ?? 0,
      ipv6: '',
      ipv6Prefix: sw6?.prefix ?? 0,
    };
    const hostPart = h.role === 'client' ? 200 : 10 + h.index;
    // Not built: an address the file gives is checked against the machine's at lab:up; none is made up.
    if (built || h.raw.ipv4 !== undefined)
      sw.ipv4 = hostAddress(`${h.path}.ipv4`, h.raw.ipv4, sw4, 4, hostPart, report, used);
    if (built || h.raw.ipv6 !== undefined)
      sw.ipv6 = hostAddress(`${h.path}.ipv6`, h.raw.ipv6, sw6, 6, hostPart, report, used);
    interfaces.push(sw);
    const labels = { ...h.labels };
    domains.forEach((d, k) => {
      if (h.role !== 'client' && !d.nodes.includes(h.raw.name)) return;
      if (h.role !== 'client') labels[d.label] = 'true';
      const where = `${h.path} (domain ${d.name})`;
      const fewer = h.role === 'client' ? undefined : d.raw.nodeAddresses?.[h.raw.name];
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
        ...(fewer && fewer !== 'both' ? { addresses: fewer } : {}),
      });
    });
    // Nodes are reached over SSH on eth0; a client only where the provider reaches it that way
    // (VMs), else it is driven from the host directly.
    if (
      built &&
      (h.role !== 'client' || providerCapabilities[raw.provider]?.clientManagement || raw.client.management)
    ) {
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
    for (const i of h.interfaces.filter((x) => x.mac && !(x.network === 'domain' && x.name.includes('.')))) {
      const p = macs.get(i.mac);
      if (p) report(`${h.name}.${i.name}`, `MAC ${i.mac} is also used by ${p}; MACs must be unique`);
      macs.set(i.mac, `${h.name}.${i.name}`);
    }

  const subnets = [
    ...(sw4 && sw6 ? [{ ipv4: sw4.text, ipv6: sw6.text }] : []),
    ...domains.flatMap((d) => (d.v4 && d.v6 ? [{ ipv4: d.v4.text, ipv6: d.v6.text }] : [])),
  ];
  // The prober's addresses: host parts 224-254 on labs l2lab built, the ones the hosts file gives on others.
  const proberSets = hostsSettings
    ? [hostsSettings.prober]
    : subnets.map((net) => ({ net, ...proberAddresses({ switch: net }) }));
  if (hostsSettings)
    for (const [family, cidr, list] of [
      [4, sw4, hostsSettings.prober.ipv4],
      [6, sw6, hostsSettings.prober.ipv6],
    ] as const) {
      const outside = cidr ? list.filter((a) => !inCidr(cidr, family, parseIp(a)!.value)) : [];
      if (outside.length)
        report(
          `hosts.prober.ipv${family}`,
          `${outside[0]}${outside.length > 1 ? ` (and ${outside.length - 1} more)` : ''} is outside the switch subnet ` +
            `${cidr!.text}; give addresses on the L2 domain`,
        );
    }
  for (const p of proberSets) {
    for (const a of [...p.ipv4, ...p.ipv6]) {
      const who = used.get(a);
      if (who)
        report(
          who,
          `${a} is reserved for l2lab's conformance prober (${
            hostsSettings ? 'hosts.prober' : `host parts ${PROBER_HOST_PARTS.first}-${PROBER_HOST_PARTS.last}`
          }); give ${who} another address`,
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
  if (built) checkInterfaces('policy', raw.policy.interfaces, SWITCH_INTERFACE, nics, report);
  // Machines l2lab did not build: the policy must select each node's own NIC on the L2 domain.
  else
    for (const nic of new Set(hosts.filter((h) => h.role !== 'client').map((h) => switchNic(h).name)))
      if (nic) checkInterfaces('policy', raw.policy.interfaces, nic, [], report, undefined);
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

  const lease = {
    durationMs: durationMs(raw.lease.duration),
    renewDeadlineMs: durationMs(raw.lease.renewDeadline),
    retryPeriodMs: durationMs(raw.lease.retryPeriod),
  };
  for (const p of leaseProblems(lease)) report(`lease.${p.field}`, p.message);

  return {
    name: raw.name,
    file,
    provider: raw.provider,
    switch: {
      ipv4: sw4?.text ?? raw.switch.ipv4,
      ipv6: sw6?.text ?? raw.switch.ipv6,
      ...(raw.switch.multicastSnooping ? { multicastSnooping: true } : {}),
      ...(raw.switch.dad ? { dad: true } : {}),
      ...(raw.switch.ageingTime !== undefined ? { ageingTime: raw.switch.ageingTime } : {}),
      ...(raw.switch.unknownUnicast === 'drop' ? { unknownUnicast: 'drop' as const } : {}),
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
    ...(hostsSettings ? { hosts: hostsSettings } : {}),
    kubernetes: resolveKubernetes(raw, dirname(file), report),
  };
}

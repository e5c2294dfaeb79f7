// The hosts provider's lab file settings (`hosts:`): how l2lab reaches machines it did not build
// (SSH address, port, user, key; host keys pinned from a known_hosts file or the lab file), each
// machine's NIC on the L2 domain, the prober's own addresses there, and the commands that power a
// node off and on. The lab file schema takes them from here; no provider code loads with it.
import { join } from 'node:path';
import { z } from 'zod';
import { cidrRange, formatIp, parseCidr, parseIp } from '../../ip.ts';
import { expandHome } from '../../paths.ts';
import { shq } from '../../quote.ts';
import type { HostMachine, HostsSettings } from '../../types.ts';

/** A shell command run on this machine; $L2LAB_MACHINE and $L2LAB_ADDRESS name the node. */
const command = z.string().min(1);
const powerSchema = z.strictObject({
  /** Cuts the power (a BMC's power off, `virsh destroy`, `qm stop`): no shutdown. */
  off: command,
  /** Powers the node on; l2lab then waits for SSH. */
  on: command,
});

/**
 * Shell commands run on a node over SSH ($L2LAB_SERVICE the subject's service, $L2LAB_SIGNAL the
 * signal): how its announcer is stopped with a signal, started again, and signalled (STOP, CONT).
 */
const serviceSchema = z.strictObject({ stop: command, start: command, signal: command });

const machineSchema = z.strictObject({
  /** Address or name SSH connects to. */
  ssh: z.string().min(1).optional(),
  /** The client only: it is the machine l2lab runs on (its NIC captured here, no SSH). */
  local: z.literal(true).optional(),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1).optional(),
  /** The machine's NIC on the L2 domain (eth1, enp0s9, bond0.100). */
  nic: z.string().regex(/^[A-Za-z0-9_.@-]{1,15}$/, 'an interface name (at most 15 characters)'),
  /** "ssh-ed25519 AAAA…": the host key to pin; without it, from knownHosts. */
  hostKey: z
    .string()
    .regex(/^(ssh-|ecdsa-)[a-z0-9-]+ [A-Za-z0-9+/=]+$/, 'a public key line such as "ssh-ed25519 AAAA…"')
    .optional(),
  power: powerSchema.optional(),
  service: serviceSchema.optional(),
});

const seconds = z.string().regex(/^\d+(s|m)$/, 'a duration in seconds or minutes, such as "90s" or "10m"');
const inSeconds = (d: string) => Number.parseInt(d, 10) * (d.endsWith('m') ? 60 : 1);

const addressesSchema = z.union([z.string(), z.array(z.string()).min(1)]);

export const hostsSchema = z
  .strictObject({
    /** l2lab's own directory on every machine (its runtime, captures): lab:down removes it. */
    dir: z
      .string()
      .regex(/^\/[A-Za-z0-9_./-]+$/, 'an absolute path')
      .optional(),
    user: z.string().min(1).default('root'),
    identityFile: z.string().default('~/.ssh/id_ed25519'),
    knownHosts: z.string().default('~/.ssh/known_hosts'),
    /**
     * Addresses on the L2 domain that no machine uses: the prober sends its requests from them (a
     * CIDR such as 192.168.50.224/27, or a list), one per round in turn.
     */
    prober: z.strictObject({ ipv4: addressesSchema, ipv6: addressesSchema }),
    /**
     * A NIC a fault set down comes back by itself this long after (an undo armed on the machine
     * first): if the SSH session goes with the link, the machine is not left cut off.
     */
    carrierUndoAfter: seconds.default('10m'),
    /**
     * How long a node may take to answer SSH after its power-on command (a server's firmware can
     * take minutes): then it is named, with the command to run once it is back.
     */
    powerOnTimeout: seconds.default('10m'),
    /** How to power every node off and on, unless a machine says otherwise. */
    power: powerSchema.optional(),
    /** How to stop, start and signal the announcer on every node, unless a machine says otherwise (default: l2l-service). */
    service: serviceSchema.optional(),
    /** One entry per node and for the client, by name. */
    machines: z.record(z.string(), machineSchema),
  })
  .optional();

export type HostsFile = NonNullable<z.output<typeof hostsSchema>>;

/** At most this many prober addresses per family: the rotation needs a few dozen, not a subnet. */
const MAX_PROBER_ADDRESSES = 64;

function proberList(
  field: string,
  v: string | string[],
  family: 4 | 6,
  report: (f: string, m: string) => void,
): string[] {
  if (typeof v === 'string') {
    const c = parseCidr(v);
    if (typeof c === 'string' || c.family !== family) {
      report(field, `"${v}" is not an IPv${family} CIDR; give a block no machine uses (or a list of addresses)`);
      return [];
    }
    const r = cidrRange(c);
    const n = r.last - r.first + 1n;
    if (n > BigInt(MAX_PROBER_ADDRESSES)) {
      report(
        field,
        `${v} holds ${n} addresses; give at most ${MAX_PROBER_ADDRESSES} (e.g. a /27 for IPv4, a /123 for IPv6)`,
      );
      return [];
    }
    // An IPv4 block's network and broadcast addresses are nobody's to send from.
    const skip = family === 4 && n > 2n ? 1n : 0n;
    const out: string[] = [];
    for (let a = r.first + skip; a <= r.last - skip; a++) out.push(formatIp(family, a));
    return out;
  }
  const out: string[] = [];
  v.forEach((a, i) => {
    const ip = parseIp(a);
    if (!ip || ip.family !== family) report(`${field}[${i}]`, `"${a}" is not an IPv${family} address`);
    else out.push(formatIp(family, ip.value));
  });
  return out;
}

/**
 * Checks the `hosts:` settings against the lab's machines and resolves them; every problem is
 * reported with its field and the fix.
 */
export function resolveHosts(
  raw: {
    name: string;
    provider: string;
    hosts?: HostsFile;
    nodes: { name: string }[];
    client: { name: string };
    domains: unknown[];
  },
  labDir: string,
  report: (field: string, message: string) => void,
): HostsSettings | undefined {
  if (raw.provider !== 'hosts') {
    if (raw.hosts) report('hosts', `is for provider: hosts only (this lab's provider is ${raw.provider}); remove it`);
    return undefined;
  }
  const h = raw.hosts;
  if (!h) {
    report(
      'hosts',
      'provider: hosts needs a hosts: section saying how to reach each machine (machines: NAME: {ssh, nic}) and the ' +
        "prober's addresses (prober: {ipv4, ipv6}); see docs/existing-clusters.md",
    );
    return undefined;
  }
  if (raw.domains.length)
    report('domains', 'provider: hosts measures one L2 domain (the switch subnets) for now; remove domains:');
  const names = [...raw.nodes.map((n) => n.name), raw.client.name];
  for (const n of names)
    if (!h.machines[n])
      report(`hosts.machines.${n}`, `missing: say how to reach ${n} ({ ssh: ADDRESS, nic: ITS NIC ON THE L2 DOMAIN })`);
  for (const n of Object.keys(h.machines))
    if (!names.includes(n))
      report(
        `hosts.machines.${n}`,
        `no node or client is named ${n} (machines: ${names.join(', ')}); remove it or fix the name`,
      );
  for (const [n, m] of Object.entries(h.machines)) {
    if (m.local && m.ssh) report(`hosts.machines.${n}`, 'gives both ssh: and local: true; keep one');
    else if (!m.ssh && !m.local)
      report(
        `hosts.machines.${n}.ssh`,
        n === raw.client.name
          ? 'missing: the address SSH reaches the client at, or local: true when the client is this machine'
          : 'missing: the address SSH reaches it at',
      );
    if (m.local && n !== raw.client.name)
      report(
        `hosts.machines.${n}.local`,
        'only the client may be this machine (faults are never run on the machine l2lab runs on); give ssh: ADDRESS',
      );
  }
  if (h.machines[raw.client.name]?.power)
    report(`hosts.machines.${raw.client.name}.power`, 'the client is never powered off; remove power: there');
  const unpowered = raw.nodes.filter((n) => h.machines[n.name] && !h.machines[n.name]!.power && !h.power);
  if (unpowered.length && unpowered.length < raw.nodes.length)
    report(
      'hosts.power',
      `given for some nodes, not for ${unpowered.map((n) => n.name).join(', ')}: give it for every node (hosts.power: for all), or none ` +
        '(the faults that need it are then skipped)',
    );
  const machines: Record<string, HostMachine> = {};
  for (const [name, m] of Object.entries(h.machines)) {
    const isNode = name !== raw.client.name;
    const power = m.power ?? (isNode ? h.power : undefined);
    const service = m.service ?? (isNode ? h.service : undefined);
    machines[name] = {
      ssh: m.ssh ?? '',
      ...(m.local ? { local: true } : {}),
      port: m.port,
      user: m.user ?? h.user,
      nic: m.nic,
      ...(m.hostKey ? { hostKey: m.hostKey } : {}),
      ...(power ? { power } : {}),
      ...(service ? { service } : {}),
    };
  }
  return {
    dir: h.dir ?? `/var/tmp/l2l-${raw.name}`,
    carrierUndoS: inSeconds(h.carrierUndoAfter),
    powerOnTimeoutS: inSeconds(h.powerOnTimeout),
    identityFile: expandHome(h.identityFile, labDir),
    knownHosts: expandHome(h.knownHosts, labDir),
    prober: {
      ipv4: proberList('hosts.prober.ipv4', h.prober.ipv4, 4, report),
      ipv6: proberList('hosts.prober.ipv6', h.prober.ipv6, 6, report),
    },
    machines,
  };
}

/**
 * What runs on a node for a service fault (`stop NAME SIGNAL`, `start NAME`, `signal NAME SIGNAL`):
 * the machine's declared command with $L2LAB_SERVICE and $L2LAB_SIGNAL, or l2l-service.
 */
export function serviceArgv(m: Pick<HostMachine, 'service'>, args: string[]): string[] {
  const s = m.service;
  if (!s) return ['/etc/l2lab/bin/l2l-service', ...args];
  const [action, name = '', signal = 'TERM'] = args;
  const cmd = action === 'start' ? s.start : action === 'stop' ? s.stop : s.signal;
  return ['env', `L2LAB_SERVICE=${name}`, `L2LAB_SIGNAL=${signal}`, 'sh', '-c', cmd];
}

/**
 * A NIC set down over SSH: first an undo armed on the machine (its process group's id in a file
 * by machine and NIC under hosts.dir: machines may share that directory, a netns lab's do), then
 * the NIC down; up sets it up and ends the armed undo. Shell command lines, run with sh -c.
 */
export function carrierCommands(h: Pick<HostsSettings, 'dir' | 'carrierUndoS'>, host: string, iface: string) {
  const pidFile = shq(join(h.dir, `carrier-${host}-${iface}.undo`));
  const nic = shq(iface);
  return {
    armUndo:
      `setsid sh -c ${shq(`echo $$ > ${pidFile}; sleep ${h.carrierUndoS}; ip link set dev ${nic} up; rm -f ${pidFile}`)} ` +
      '> /dev/null 2>&1 < /dev/null &',
    down: `ip link set dev ${nic} down`,
    up: `ip link set dev ${nic} up && { [ ! -f ${pidFile} ] || kill -- -$(cat ${pidFile}); rm -f ${pidFile}; true; }`,
  };
}

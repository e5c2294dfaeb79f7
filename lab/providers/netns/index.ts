// The embedded provider: every machine is a set of namespaces on this host.
//   node  = network namespace (eth0 management, eth1 lab switch) + PID/mount/UTS/IPC
//           namespaces whose PID 1 is lab/node/boot.sh then tini: killing it is a power cut.
//   switch = a Linux bridge inside its own network namespace, so the host's network is not
//           part of the lab switch; the management bridge is on the host, for SSH.
// `up` observes what exists, then creates or repairs only what differs (idempotent).

import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { ipJson, run, sleep, waitFor } from '../../command.ts';
import { heldOn } from '../../faults/index.ts';
import { alive, readIf, writeAtomic } from '../../files.ts';
import { domainOf, findHost, ifaceOf, mgmt, switchNic } from '../../hosts.ts';
import { type Cidr, cidrRange, overlaps, parseCidr } from '../../ip.ts';
import * as names from '../../names.ts';
import { nodeFilesDir, repoRoot } from '../../paths.ts';
import type { Capabilities, ConvergeContext, ExecResult, Progress, Provider } from '../../provider.ts';
import { shq } from '../../quote.ts';
import { sshBanner } from '../../ssh.ts';
import { commonStatus } from '../../state.ts';
import {
  type Domain,
  type HostInterface,
  type HostStatus,
  type Lab,
  type LabHost,
  type LabStatus,
  MANAGEMENT_INTERFACE,
  SWITCH_INTERFACE,
} from '../../types.ts';
import { UsageError } from '../../validation.ts';
import { capabilities } from './about.ts';

const NODE_FILES = nodeFilesDir;
const REQUIRED: [string, string][] = [
  ['ip', 'iproute2'],
  ['unshare', 'util-linux'],
  ['nsenter', 'util-linux'],
  ['tini', 'tini'],
  ['sshd', 'openssh-server'],
  ['ssh-keygen', 'openssh-client'],
  ['start-stop-daemon', 'dpkg'],
];

interface IpAddr {
  ifname: string;
  address?: string;
  operstate: string;
  flags: string[];
  master?: string;
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}

/** What exists now, read once per command. */
interface Observed {
  namespaces: Set<string>;
  hostLinks: Map<string, IpAddr>;
  links: Map<string, Map<string, IpAddr>>; // namespace -> ifname -> link
  inits: Map<string, number>; // host name -> live init PID
}

type Apply = (what: string, fn: () => Promise<unknown>) => Promise<void>;

export class NetnsProvider implements Provider {
  readonly name = 'netns';
  readonly capabilities: Capabilities = capabilities;

  async preflight(lab: Lab): Promise<void> {
    preflight();
    await vlanPreflight(lab);
  }

  async converge(lab: Lab, ctx: ConvergeContext): Promise<void> {
    const { apply } = ctx;
    const obs = await observe(lab);
    for (const m of names.sharedMountPoints)
      if (!existsSync(m)) await apply(`mount point ${m}`, async () => mkdirSync(m, { recursive: true }));
    await this.convergeManagement(lab, obs, apply);
    const querierRestarted = await this.convergeSwitch(lab, obs, apply);
    // Machines are independent of each other: converge them in parallel.
    await Promise.all([...lab.nodes, lab.client].map((h) => this.convergeHost(lab, h, obs, ctx)));
    if (lab.switch.multicastSnooping && querierRestarted) await waitForSnooping(lab);
  }

  private async convergeManagement(lab: Lab, obs: Observed, apply: Apply): Promise<void> {
    const br = names.mgmtBridge(lab.name);
    const want = `${lab.management.hostAddress}/${lab.management.ipv4.split('/')[1]}`;
    const link = obs.hostLinks.get(br);
    if (!link) {
      await checkRouteFree(lab);
      await apply(`management bridge ${br}`, async () => {
        await run(['ip', 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
        await run(['ip', 'link', 'set', br, 'addrgenmode', 'none']);
      });
    }
    if (!link?.addr_info.some((a) => `${a.local}/${a.prefixlen}` === want))
      await apply(`address ${want} on ${br}`, () => run(['ip', 'addr', 'replace', want, 'dev', br]));
    if (!link?.flags.includes('UP')) await apply(`${br} up`, () => run(['ip', 'link', 'set', br, 'up']));
  }

  /** Returns whether the lab switch's querier (re)started: a snooping bridge new, switched to snooping, or brought up. */
  private async convergeSwitch(lab: Lab, obs: Observed, apply: Apply): Promise<boolean> {
    let restarted = false;
    const ns = names.switchNs(lab.name);
    if (!obs.namespaces.has(ns)) {
      await apply(`switch namespace ${ns}`, async () => {
        await run(['ip', 'netns', 'add', ns]);
        // The switch is pure L2: no IPv6 of its own on any port, so it adds nothing to captures.
        await sysctl(ns, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
      });
      obs.links.set(ns, new Map());
    }
    // The lab switch, and a bridge beside it for each domain with a switch of its own.
    const bridges = [
      { name: names.switchBridge, what: 'switch bridge' },
      ...lab.domains
        .filter((d) => d.kind === 'switch')
        .map((d) => ({ name: names.domainBridge(d.name), what: `domain ${d.name}: switch` })),
    ];
    for (const b of bridges) {
      const have = obs.links.get(ns)!.get(b.name);
      const snoop = b.name === names.switchBridge && lab.switch.multicastSnooping === true;
      if (!have)
        await apply(`${b.what} ${ns}/${b.name}${snoop ? ' (multicast snooping)' : ''}`, async () => {
          await run(['ip', '-n', ns, 'link', 'add', b.name, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
          await setSnooping(ns, b.name, snoop);
        });
      if (b.name === names.switchBridge) await convergeAgeing(lab, ns, apply);
      if (have && b.name === names.switchBridge && (await snooping(ns, b.name)) !== snoop) {
        await apply(`${b.what}: multicast snooping ${snoop ? 'on' : 'off'}`, () => setSnooping(ns, b.name, snoop));
        restarted ||= snoop;
      }
      if (!have?.flags.includes('UP')) {
        await apply(`${b.what} up`, () => run(['ip', '-n', ns, 'link', 'set', b.name, 'up']));
        restarted ||= snoop;
      }
    }
    return restarted;
  }

  private async convergeHost(lab: Lab, h: LabHost, obs: Observed, ctx: ConvergeContext): Promise<void> {
    const { apply } = ctx;
    const ns = names.hostNs(lab.name, h.name);
    const sw = names.switchNs(lab.name);
    if (!obs.namespaces.has(ns)) {
      await apply(`namespace ${ns}`, () => run(['ip', 'netns', 'add', ns]));
      obs.links.set(ns, new Map());
    }
    const links = obs.links.get(ns)!;
    const eth1 = switchNic(h);
    if (!links.has(SWITCH_INTERFACE)) {
      await apply(`${h.name}: sysctls`, () =>
        sysctl(
          ns,
          'net.ipv6.conf.all.accept_dad=0',
          `net.ipv6.conf.default.accept_dad=${lab.switch.dad ? 1 : 0}`, // the lab NICs: convergeDad
          'net.ipv6.conf.default.accept_ra=0',
          // Addresses survive a power cycle (NICs down, then up), as a configured machine gets them back at boot.
          'net.ipv6.conf.all.keep_addr_on_down=1',
          'net.ipv6.conf.default.keep_addr_on_down=1',
        ),
      );
      await apply(`${h.name}: eth1 on the lab switch (${eth1.mac})`, async () => {
        await run(['ip', '-n', sw, 'link', 'del', h.name], { check: false }); // a stale port from a half-built run
        await run([
          'ip',
          'link',
          'add',
          'name',
          SWITCH_INTERFACE,
          'netns',
          ns,
          'address',
          eth1.mac,
          'type',
          'veth',
          'peer',
          'name',
          h.name,
          'netns',
          sw,
        ]);
      });
    } else if (links.get(SWITCH_INTERFACE)!.address !== eth1.mac) {
      await apply(`${h.name}: eth1 MAC ${eth1.mac}`, () =>
        run(['ip', '-n', ns, 'link', 'set', SWITCH_INTERFACE, 'address', eth1.mac]),
      );
    }
    const held = heldOn(ctx.faults, h.name, lab); // deliberate faults, not drift
    const unplugged = (iface: string) => held.unplugged.includes(iface);
    const present = h.interfaces.filter((i) => !held.absent.includes(i.name)); // nic-remove took the others out
    const port = obs.links.get(sw)?.get(h.name);
    if (!port || port.master !== names.switchBridge || (!port.flags.includes('UP') && !unplugged(SWITCH_INTERFACE)))
      await apply(`${h.name}: switch port up`, () =>
        run(['ip', '-n', sw, 'link', 'set', h.name, 'master', names.switchBridge, 'up']),
      );
    await convergeFlood(lab, sw, h.name, apply);

    await this.convergeDomainNics(lab, h, links, obs, unplugged, held.absent, apply);

    const eth0 = h.interfaces.find((i) => i.name === MANAGEMENT_INTERFACE);
    if (eth0) {
      const hostEnd = names.mgmtVeth(lab.name, h);
      if (!links.has(MANAGEMENT_INTERFACE)) {
        await apply(`${h.name}: eth0 on the management bridge (${hostEnd})`, async () => {
          await run(['ip', 'link', 'del', hostEnd], { check: false });
          await run([
            'ip',
            'link',
            'add',
            'name',
            hostEnd,
            'type',
            'veth',
            'peer',
            'name',
            MANAGEMENT_INTERFACE,
            'netns',
            ns,
            'address',
            eth0.mac,
          ]);
          await run(['ip', '-n', ns, 'link', 'set', MANAGEMENT_INTERFACE, 'addrgenmode', 'none']); // management is IPv4 only
          await run(['ip', 'link', 'set', hostEnd, 'addrgenmode', 'none']);
        });
      }
      const he = obs.hostLinks.get(hostEnd);
      if (
        !he ||
        he.master !== names.mgmtBridge(lab.name) ||
        (!he.flags.includes('UP') && !unplugged(MANAGEMENT_INTERFACE))
      )
        await apply(`${h.name}: ${hostEnd} up on ${names.mgmtBridge(lab.name)}`, () =>
          run(['ip', 'link', 'set', hostEnd, 'master', names.mgmtBridge(lab.name), 'up']),
        );
    }
    await convergeDad(lab, ns, h, apply, held.absent);
    for (const i of present) await convergeAddresses(ns, h.name, i, links.get(i.name), apply, lab.switch.dad);
    const poweredOff = held.powerOff;
    for (const ifname of ['lo', ...present.map((i) => i.name)]) {
      if (poweredOff) continue;
      if (!links.get(ifname)?.flags.includes('UP'))
        await apply(`${h.name}: ${ifname} up`, () => run(['ip', '-n', ns, 'link', 'set', ifname, 'up']));
    }
    if (poweredOff) return;
    if (lab.switch.dad) await settleDad(ns, h);

    // Machines with a management NIC run sshd (nodes; a client the lab file gives one).
    const sshd = h.interfaces.some((i) => i.network === 'management');
    if (sshd) await this.convergeNodeFiles(lab, h, obs.inits.get(h.name), ctx);
    else
      await this.writeNodeFile(
        lab,
        h,
        obs.inits.get(h.name),
        '/etc/l2lab/bin/l2l-service',
        readFileSync(join(NODE_FILES, 'l2l-service'), 'utf8'),
        0o755,
        apply,
      );
    let init = obs.inits.get(h.name);
    const waitSshd = async () =>
      waitFor(
        `sshd on ${h.name} (${mgmt(h).ipv4}:22)`,
        async () => ((await sshBanner(mgmt(h).ipv4, 300)) ? true : undefined),
        10_000,
      );
    if (!init) {
      await apply(`${h.name}: boot`, async () => {
        init = await boot(lab, h);
        if (sshd) await waitSshd(); // boot starts the enabled services
      });
      obs.inits.set(h.name, init!);
    } else if (
      sshd &&
      !held.stopped.includes('sshd') &&
      !held.unplugged.includes(MANAGEMENT_INTERFACE) && // unreachable by a deliberate fault, not down
      !(await sshBanner(mgmt(h).ipv4, 300))
    )
      await apply(`${h.name}: sshd`, async () => {
        await nsExec(init!, ['/etc/l2lab/bin/l2l-service', 'start', 'sshd']);
        await waitSshd();
      });
  }

  /** The machine's NICs in further L2 domains: a tagged sub-interface of eth1, or a cable to the domain's own switch. */
  private async convergeDomainNics(
    lab: Lab,
    h: LabHost,
    links: Map<string, IpAddr>,
    obs: Observed,
    unplugged: (iface: string) => boolean,
    absent: string[],
    apply: Apply,
  ): Promise<void> {
    const sw = names.switchNs(lab.name);
    for (const i of h.interfaces.filter((x) => x.network === 'domain' && !absent.includes(x.name)))
      await plugDomainNic(lab, h, i, domainOf(lab, i)!, links.has(i.name), obs.links.get(sw), unplugged(i.name), apply);
  }

  private async convergeNodeFiles(lab: Lab, h: LabHost, init: number | undefined, ctx: ConvergeContext): Promise<void> {
    const { paths, apply } = ctx;
    const hostKey = paths.hostKey(h.name);
    const files: [string, string, number][] = [
      ['/etc/l2lab/bin/l2l-service', readFileSync(join(NODE_FILES, 'l2l-service'), 'utf8'), 0o755],
      ['/etc/l2lab/bin/l2l-label', readFileSync(join(NODE_FILES, 'l2l-label'), 'utf8'), 0o755],
      ['/etc/l2lab/bin/l2l-backend', readFileSync(join(NODE_FILES, 'l2l-backend'), 'utf8'), 0o755],
      ['/etc/l2lab/ssh/ssh_host_ed25519_key', readFileSync(hostKey, 'utf8'), 0o600],
      ['/etc/l2lab/ssh/ssh_host_ed25519_key.pub', readFileSync(`${hostKey}.pub`, 'utf8'), 0o644],
      ['/etc/l2lab/ssh/authorized_keys', readFileSync(`${paths.clientKey}.pub`, 'utf8'), 0o600],
      ['/etc/l2lab/ssh/sshd_config', sshdConfig(mgmt(h).ipv4), 0o644],
      [
        '/etc/l2lab/services/sshd.service',
        "EXEC='/usr/sbin/sshd -D -e -f /etc/l2lab/ssh/sshd_config'\nENABLED=yes\n",
        0o644,
      ],
    ];
    for (const [path, content, mode] of files) await this.writeNodeFile(lab, h, init, path, content, mode, apply);
  }

  /** Writes a file into a node's private /etc: through the running node, or into its overlay's upper layer before boot. */
  private async writeNodeFile(
    lab: Lab,
    h: LabHost,
    init: number | undefined,
    path: string,
    content: string,
    mode: number,
    apply: Apply,
  ): Promise<void> {
    if (!path.startsWith('/etc/')) throw new Error(`node files live under /etc, not ${path}`);
    const target = init
      ? `/proc/${init}/root${path}`
      : join(names.labPaths(lab.name).node(h.name), 'etc-upper', path.slice('/etc/'.length));
    if (readIf(target) === content && (statSync(target).mode & 0o777) === mode) return;
    await apply(`${h.name}: ${path}`, async () => {
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeAtomic(target, content, mode);
    });
  }

  async remove(labName: string, { progress }: { progress: Progress }): Promise<string[]> {
    const removed: string[] = [];
    const p = names.prefix(labName);
    const namespaces = (await ipJson<{ name: string }[]>(['netns', 'list']))
      .map((n) => n.name)
      .filter((n) => n.startsWith(p));
    // Kill first (everything inside each namespace, at once), then delete the namespaces.
    const pids = (await Promise.all(namespaces.map((ns) => netnsPids(ns)))).flat();
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (pids.length) {
      progress.step(`killed ${pids.length} processes`);
      removed.push(`${pids.length} processes`);
      await waitFor(
        'lab processes to exit',
        async () => (pids.every((pid) => !alive(pid)) ? true : undefined),
        5000,
        10,
      );
    }
    await Promise.all(
      namespaces.map(async (ns) => {
        await run(['ip', 'netns', 'del', ns]);
        progress.step(`namespace ${ns}`);
        removed.push(`namespace ${ns}`);
      }),
    );
    const links = (await ipJson<IpAddr[]>(['link', 'show'])).map((l) => l.ifname).filter((n) => n.startsWith(p));
    for (const l of links) {
      await run(['ip', 'link', 'del', l], { check: false });
      progress.step(`link ${l}`);
      removed.push(`link ${l}`);
    }
    // The shared mount points go with the last lab (rmdir only if empty; never other files).
    const otherLabs = readdirSync(names.stateBase()).some((d) => d.startsWith('l2l-') && d !== `l2l-${labName}`);
    if (!otherLabs)
      for (const m of names.sharedMountPoints) {
        try {
          rmdirSync(m);
          removed.push(`mount point ${m}`);
        } catch {
          /* absent or not empty */
        }
      }
    return removed;
  }

  async status(lab: Lab, opts: { probe?: boolean } = {}): Promise<LabStatus> {
    const probe = opts.probe ?? true;
    const obs = await observe(lab, probe);
    const paths = names.labPaths(lab.name);
    const hostKeys = new Map(
      [...lab.nodes, lab.client].map((n) => [
        n.name,
        readIf(`${paths.hostKey(n.name)}.pub`)
          ?.trim()
          .split(/\s+/)
          .slice(0, 2)
          .join(' '),
      ]),
    );
    const hostStatus = async (h: LabHost): Promise<HostStatus> => {
      const ns = names.hostNs(lab.name, h.name);
      const links = obs.links.get(ns);
      const key = hostKeys.get(h.name);
      const m = h.interfaces.find((i) => i.name === MANAGEMENT_INTERFACE);
      return {
        name: h.name,
        role: h.role,
        labels: h.labels,
        namespace: ns,
        powered: obs.inits.has(h.name),
        interfaces: h.interfaces.map((i) => {
          const l = links?.get(i.name);
          return {
            ...i,
            mac: l?.address ?? i.mac,
            up: probe ? !!l && l.flags.includes('UP') && l.flags.includes('LOWER_UP') : obs.inits.has(h.name),
          };
        }),
        sshd: m && obs.inits.has(h.name) ? (probe ? await sshBanner(m.ipv4, 300) : true) : false,
        ...(m && key ? { ssh: { host: m.ipv4, port: 22, user: names.sshUser, hostKey: key } } : {}),
      };
    };
    const nodes = await Promise.all(lab.nodes.map(hostStatus));
    const client = await hostStatus(lab.client);
    const all = [...nodes, client];
    const state = all.every(
      (h) =>
        h.powered &&
        h.interfaces.every((i) => i.up) &&
        (!h.interfaces.some((i) => i.network === 'management') || h.sshd),
    )
      ? 'up'
      : all.some((h) => h.powered || obs.namespaces.has(h.namespace))
        ? 'degraded'
        : 'down';
    return {
      ...commonStatus(lab, this.name),
      state,
      switch: { ...lab.switch, namespace: names.switchNs(lab.name), bridge: names.switchBridge },
      management: { ...lab.management, bridge: names.mgmtBridge(lab.name) },
      nodes,
      client,
    };
  }

  async exec(
    lab: Lab,
    host: string,
    argv: string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    const h = findHost(lab, host);
    const init = liveInit(lab, h);
    if (!init) throw new Error(`${host} is powered off or not up; run lab:up (or undo the power-off fault)`);
    return run(nsenterArgs(init, argv), { check: false, input: opts.input, timeoutMs: opts.timeoutMs });
  }

  /**
   * As a BMC would, from a shell: every process of the node stopped, its NICs down, then killed
   * (as power() does); on is `lab up`, which boots what is not running.
   */
  powerCommands(lab: Lab): { off: string; on: string } {
    const ns = `${names.prefix(lab.name)}"$L2LAB_MACHINE"`;
    const nics = [...new Set([...lab.nodes.flatMap((n) => n.interfaces.map((i) => i.name))])].sort().reverse();
    return {
      off:
        // A process may end meanwhile (an SSH session): kill's complaint about it is no failure.
        `p=$(ip netns pids ${ns}); kill -STOP $p 2>/dev/null; ${nics.map((i) => `ip -n ${ns} link set ${i} down`).join(' && ')} && ` +
        '{ kill -KILL $p 2>/dev/null; true; }',
      on: `node ${shq(join(repoRoot, 'bin', 'l2lab.mjs'))} lab up --name ${lab.name} --quiet`,
    };
  }

  /** A machine has power while its init runs. */
  async powered(lab: Lab, host: string): Promise<boolean> {
    return liveInit(lab, findHost(lab, host)) !== undefined;
  }

  /** A power cut: every process of the node at once, then its NICs lose carrier. Power on boots it. */
  async power(lab: Lab, host: string, on: boolean): Promise<void> {
    const h = findHost(lab, host);
    const ns = names.hostNs(lab.name, h.name);
    if (!on) {
      // A power cut is one instant. Every process is stopped first: killed one by one, a process
      // could act on another's death meanwhile (keepalived's VRRP child resigns with priority 0
      // when its parent dies) while the NICs still carry, and a starved host (both cores busy)
      // stretched that to 140 ms, two nodes answering. Then every NIC goes down in one ip call,
      // then everything is killed.
      const pids = await netnsPids(ns);
      const signal = (sig: NodeJS.Signals) => {
        for (const pid of pids) {
          try {
            process.kill(pid, sig);
          } catch {
            /* gone */
          }
        }
      };
      const nics = await presentNics(ns, h); // not those nic-remove took out; read before the cut: no delay in it
      signal('SIGSTOP');
      await run(['ip', '-n', ns, '-batch', '-'], {
        input: `${nics.map((i) => `link set ${i.name} down`).join('\n')}\n`,
      });
      signal('SIGKILL');
      await waitFor(
        `${h.name} processes to exit`,
        async () => (pids.every((p) => !alive(p)) ? true : undefined),
        5000,
        5,
      );
      // The namespace outlives the machine: what its daemons configured at runtime would too (a
      // VIP IPaddr2 or keepalived added, answered again at power on while the new holder has it —
      // seen with fencing, 2026-12-06). A machine that lost power boots with the addresses its
      // configuration gives, the lab file's, an empty neighbour cache and none of the links they
      // made (FRR's macvlans).
      const own = new Set(['lo', ...h.interfaces.map((i) => i.name)]);
      const made = (await ipJson<IpAddr[]>(['-n', ns, 'link', 'show'])).filter((l) => !own.has(l.ifname));
      await run(['ip', '-n', ns, '-batch', '-'], {
        input: [
          ...made.map((l) => `link delete dev ${l.ifname}`),
          ...nics.map((i) => `addr flush dev ${i.name}`),
          'neigh flush all',
          '',
        ].join('\n'),
      });
      for (const i of nics)
        await convergeAddresses(
          ns,
          h.name,
          i,
          undefined,
          async (_what, fn) => {
            await fn();
          },
          lab.switch.dad,
        );
      return;
    }
    for (const i of await presentNics(ns, h)) await run(['ip', '-n', ns, 'link', 'set', i.name, 'up']);
    // A booting Debian host waits for DAD before its services start (ifupdown's settle-dad.sh).
    if (lab.switch.dad) await settleDad(ns, h);
    if (!liveInit(lab, h)) await boot(lab, h);
    await this.booted(lab, host);
  }

  /** Booted: its init runs the enabled services; sshd answering says they have started. */
  async booted(lab: Lab, host: string): Promise<void> {
    const h = findHost(lab, host);
    if (h.interfaces.some((i) => i.network === 'management'))
      await waitFor(
        `sshd on ${h.name} (booted)`,
        async () => ((await sshBanner(mgmt(h).ipv4, 300)) ? true : undefined),
        10_000,
      );
  }

  /** Pulls or plugs the cable of a NIC: the far end goes down, so the node sees carrier loss but keeps its configuration. */
  async carrier(lab: Lab, host: string, iface: string, up: boolean): Promise<void> {
    const h = findHost(lab, host);
    const i = ifaceOf(h, iface);
    const state = up ? 'up' : 'down';
    const d = domainOf(lab, i);
    if (i.network === 'switch') await run(['ip', '-n', names.switchNs(lab.name), 'link', 'set', h.name, state]);
    else if (d?.kind === 'switch')
      await run(['ip', '-n', names.switchNs(lab.name), 'link', 'set', names.domainPort(h.index, i.name), state]);
    // A VLAN has no cable of its own: the switch stops carrying it to this port (the tagged NIC goes down).
    else if (d) await run(['ip', '-n', names.hostNs(lab.name, h.name), 'link', 'set', i.name, state]);
    else await run(['ip', 'link', 'set', names.mgmtVeth(lab.name, h), state]);
  }

  /**
   * Takes a domain NIC out of the node (its veth pair, or VLAN, deleted: the interface is gone, as
   * after a hot-unplug) or puts it back as lab:up builds it: MAC, switch port, addresses, up.
   */
  async nic(lab: Lab, host: string, iface: string, present: boolean): Promise<void> {
    const h = findHost(lab, host);
    const i = ifaceOf(h, iface);
    const d = domainOf(lab, i);
    if (!d) throw new Error(`${host} ${iface} is not a NIC in a further L2 domain; only those can be taken out`);
    const ns = names.hostNs(lab.name, h.name);
    const has = (await presentNics(ns, h)).some((x) => x.name === iface);
    if (!present) {
      if (has) await run(['ip', '-n', ns, 'link', 'del', iface]); // a veth takes its switch port with it
      return;
    }
    const direct: Apply = async (_what, fn) => {
      await fn();
    };
    // As lab:up makes it (the same steps), then its addresses, up, and DAD settled where the lab runs it.
    await plugDomainNic(lab, h, i, d, has, undefined, false, direct);
    await convergeAddresses(ns, h.name, i, undefined, direct, lab.switch.dad);
    await run(['ip', '-n', ns, 'link', 'set', iface, 'up']);
    if (lab.switch.dad) await settleDad(ns, h);
  }
}

// ---- helpers -------------------------------------------------------------------------

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('the netns provider needs root (namespaces, bridges); run as root');
  const path = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin']);
  const missing = REQUIRED.filter(([cmd]) => !path.some((d) => existsSync(join(d, cmd))));
  if (missing.length)
    throw new Error(
      `missing on this machine: ${missing.map(([c, p]) => `${c} (Debian package ${p})`).join(', ')}. Run \`npm run setup\` to install ` +
        `them.`,
    );
}

/** Kernel settings inside a namespace. */
const sysctl = (ns: string, ...settings: string[]) => run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', ...settings]);

/** Whether a bridge snoops multicast now. */
async function snooping(ns: string, bridge: string): Promise<boolean> {
  const r = await run(['ip', 'netns', 'exec', ns, 'cat', `/sys/class/net/${bridge}/bridge/multicast_snooping`]);
  return r.stdout.trim() === '1';
}

/**
 * Multicast snooping on a lab bridge, or off (every other lab: multicast floods, as on a dumb
 * switch). On, the bridge is its own MLD/IGMP querier (it needs an IPv6 link-local address to
 * send MLD queries, so IPv6 is on for it alone, without DAD), queries every 2 s so a port's
 * groups are known soon, and forwards a solicitation only to the ports that joined its group.
 */
async function setSnooping(ns: string, bridge: string, on: boolean): Promise<void> {
  const v = on ? '1' : '0';
  if (on) await sysctl(ns, `net.ipv6.conf.${bridge}.accept_dad=0`, `net.ipv6.conf.${bridge}.disable_ipv6=0`);
  await run([
    'ip',
    '-n',
    ns,
    'link',
    'set',
    bridge,
    'type',
    'bridge',
    'mcast_snooping',
    v,
    'mcast_querier',
    v,
    ...(on
      ? ['mcast_query_interval', '200', 'mcast_query_response_interval', '100', 'mcast_startup_query_interval', '100']
      : []),
  ]);
}

/**
 * A Linux bridge floods multicast for several seconds after it starts querying (about 10 s here),
 * then filters. Waits until it does: a solicitation the bridge itself sends for a group nobody
 * joined must no longer leave through the client's port.
 */
async function waitForSnooping(lab: Lab): Promise<void> {
  const sw = names.switchNs(lab.name);
  const port = lab.client.name;
  await waitFor(
    `the lab switch to filter multicast (MLD snooping; the bridge floods until its querier is in force)`,
    async () => {
      // Immediate mode, line-buffered: a frame captured is printed at once, not held for a buffer timeout.
      const tcpdump = ['tcpdump', '--immediate-mode', '-l', '-c', '1', '-ni', port, 'icmp6 and ip6[40] == 135'];
      const cap = spawn('ip', ['netns', 'exec', sw, 'timeout', '2', ...tcpdump]);
      let out = '';
      const listening = new Promise<void>((resolve) => {
        cap.stderr.on('data', (d: Buffer) => {
          if (d.toString().includes('listening on')) resolve();
        });
        cap.on('exit', () => resolve());
      });
      cap.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const exited = new Promise<void>((resolve) => cap.on('exit', () => resolve()));
      await listening;
      // fe80::ffff:fffe: its group ff02::1:ffff:fffe is nobody's (lab MACs never end in ff:ff:fe).
      const ndisc6 = ['ndisc6', '-1', '-r', '3', '-w', '50', 'fe80::ffff:fffe', names.switchBridge];
      await run(['ip', 'netns', 'exec', sw, ...ndisc6], { check: false });
      if (!out.includes('who has')) await sleep(100); // a flooded copy is on its way out by then
      cap.kill('SIGINT');
      await exited;
      return out.includes('who has') ? undefined : true;
    },
    30_000,
    200,
  );
}

/**
 * VLAN domains need the kernel's 802.1Q support (CONFIG_VLAN_8021Q, module 8021q): refused before
 * anything is built where it is missing (some VM kernels, such as Firecracker's, lack it).
 */
async function vlanPreflight(lab: Lab): Promise<void> {
  const i = lab.domains.findIndex((d) => d.kind === 'vlan');
  if (i < 0 || existsSync('/proc/net/vlan')) return;
  await run(['modprobe', '8021q'], { check: false });
  if (existsSync('/proc/net/vlan')) return;
  throw new Error(
    `domains[${i}].vlan: this kernel (${release()}) has no 802.1Q VLAN support (CONFIG_VLAN_8021Q; modprobe 8021q failed), so the netns ` +
      `provider cannot build VLAN ${lab.domains[i]!.vlan}; give the domain a switch of its own (switch: true instead of vlan), or use ` +
      `provider: vagrant (the VMs' Debian kernel has it)`,
  );
}

/** Reads what exists; without links, only namespaces and node inits (no per-namespace ip calls). */
async function observe(lab: Lab, withLinks = true): Promise<Observed> {
  const p = names.prefix(lab.name);
  const namespaces = new Set(
    (await ipJson<{ name: string }[]>(['netns', 'list'])).map((n) => n.name).filter((n) => n.startsWith(p)),
  );
  const hostLinks = new Map(
    withLinks
      ? (await ipJson<IpAddr[]>(['addr', 'show'])).filter((l) => l.ifname.startsWith(p)).map((l) => [l.ifname, l])
      : [],
  );
  const links = new Map<string, Map<string, IpAddr>>();
  if (withLinks)
    await Promise.all(
      [...namespaces].map(async (ns) => {
        links.set(ns, new Map((await ipJson<IpAddr[]>(['-n', ns, 'addr', 'show'])).map((l) => [l.ifname, l])));
      }),
    );
  const inits = new Map<string, number>();
  for (const h of [...lab.nodes, lab.client]) {
    const pid = namespaces.has(names.hostNs(lab.name, h.name)) ? liveInit(lab, h) : undefined;
    if (pid) inits.set(h.name, pid);
  }
  return { namespaces, hostLinks, links, inits };
}

/** The node's init PID if it is alive and really inside the node's network namespace. */
function liveInit(lab: Lab, h: LabHost): number | undefined {
  const t = readIf(join(names.labPaths(lab.name).node(h.name), 'init.pid'));
  const pid = Number(t?.trim());
  if (!pid) return undefined;
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'tini') return undefined;
    return statSync(`/proc/${pid}/ns/net`).ino === statSync(`/run/netns/${names.hostNs(lab.name, h.name)}`).ino
      ? pid
      : undefined;
  } catch {
    return undefined;
  }
}

async function netnsPids(ns: string): Promise<number[]> {
  const r = await run(['ip', 'netns', 'pids', ns], { check: false });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

function nsenterArgs(init: number, argv: string[]): string[] {
  return ['nsenter', '-t', String(init), '-m', '-u', '-i', '-n', '-p', '--wd=/', '--', ...argv];
}

async function nsExec(init: number, argv: string[]): Promise<string> {
  return (await run(nsenterArgs(init, argv))).stdout;
}

/** Starts the node's init (boot.sh → tini) detached, and waits until it is up. */
async function boot(lab: Lab, h: LabHost): Promise<number> {
  const dir = names.labPaths(lab.name).node(h.name);
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'init.pid');
  rmSync(pidFile, { force: true });
  const log = openSync(join(dir, 'boot.log'), 'a');
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      names.hostNs(lab.name, h.name),
      'unshare',
      '--pid',
      '--fork',
      '--mount',
      '--uts',
      '--ipc',
      '--propagation',
      'private',
      '/bin/sh',
      join(NODE_FILES, 'boot.sh'),
      h.name,
      dir,
      pidFile,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  child.unref();
  closeSync(log);
  return waitFor(
    `${h.name} to boot (log: ${join(dir, 'boot.log')})`,
    async () => {
      if (child.exitCode !== null)
        throw new Error(`${h.name} failed to boot (exit ${child.exitCode}); see ${join(dir, 'boot.log')}`);
      return liveInit(lab, h);
    },
    10_000,
    5,
  );
}

/**
 * A domain NIC as lab:up makes it: the interface where it is missing and, on a domain switch, its
 * port on the domain's bridge and up (left down where its cable is pulled). `ports`: the switch
 * namespace's links as observed (undefined: not observed, the port is set).
 */
async function plugDomainNic(
  lab: Lab,
  h: LabHost,
  i: HostInterface,
  d: Domain,
  has: boolean,
  ports: Map<string, IpAddr> | undefined,
  unplugged: boolean,
  apply: Apply,
): Promise<void> {
  if (!has)
    await apply(
      `${h.name}: ${i.name} ${d.kind === 'vlan' ? `(VLAN ${d.vlan} of domain ${d.name})` : `on domain ${d.name}'s switch (${i.mac})`}`,
      () => addDomainNic(lab, h, i, d),
    );
  if (d.kind === 'vlan') return;
  const portName = names.domainPort(h.index, i.name);
  const port = ports?.get(portName);
  const bridge = names.domainBridge(d.name);
  if (!port || port.master !== bridge || (!port.flags.includes('UP') && !unplugged))
    await apply(`${h.name}: domain ${d.name} switch port up`, () =>
      run(['ip', '-n', names.switchNs(lab.name), 'link', 'set', portName, 'master', bridge, 'up']),
    );
}

/** A domain NIC made: a VLAN of eth1, or a cable (veth) to the domain's own switch. */
async function addDomainNic(lab: Lab, h: LabHost, i: HostInterface, d: Domain): Promise<void> {
  const ns = names.hostNs(lab.name, h.name);
  if (d.kind === 'vlan') {
    await run([
      'ip',
      '-n',
      ns,
      'link',
      'add',
      'link',
      SWITCH_INTERFACE,
      'name',
      i.name,
      'type',
      'vlan',
      'id',
      String(d.vlan),
    ]);
    return;
  }
  const sw = names.switchNs(lab.name);
  const portName = names.domainPort(h.index, i.name);
  await run(['ip', '-n', sw, 'link', 'del', portName], { check: false }); // a stale port from a half-built run
  await run([
    'ip',
    'link',
    'add',
    'name',
    i.name,
    'netns',
    ns,
    'address',
    i.mac,
    'type',
    'veth',
    'peer',
    'name',
    portName,
    'netns',
    sw,
  ]);
}

/** The host's NICs that exist now (nic-remove may have taken one out). */
async function presentNics(ns: string, h: LabHost): Promise<HostInterface[]> {
  const have = new Set((await ipJson<IpAddr[]>(['-n', ns, 'link', 'show'])).map((l) => l.ifname));
  return h.interfaces.filter((i) => have.has(i.name));
}

async function convergeAddresses(
  ns: string,
  host: string,
  i: HostInterface,
  link: IpAddr | undefined,
  apply: Apply,
  dad = false,
): Promise<void> {
  const have = new Set((link?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  const want: [string, string[]][] = [];
  if (!i.addresses) want.push([`${i.ipv4}/${i.ipv4Prefix}`, []]);
  if (i.ipv6 && i.addresses !== 'none') want.push([`${i.ipv6}/${i.ipv6Prefix}`, dad ? [] : ['nodad']]);
  for (const [addr, extra] of want)
    if (!have.has(addr))
      await apply(`${host}: ${addr} on ${i.name}`, () =>
        run(['ip', '-n', ns, 'addr', 'replace', addr, 'dev', i.name, ...extra]),
      );
}

/** The lab switch's ageing time (switch.ageingTime; the bridge's own 300 s where unset), in the centiseconds Linux keeps. */
async function convergeAgeing(lab: Lab, ns: string, apply: Apply): Promise<void> {
  const want = String((lab.switch.ageingTime ?? 300) * 100);
  const file = `/sys/class/net/${names.switchBridge}/bridge/ageing_time`;
  const have = (await run(['ip', 'netns', 'exec', ns, 'cat', file], { check: false })).stdout.trim();
  if (have !== want)
    await apply(`switch bridge: ageing time ${Number(want) / 100} s`, () =>
      run(['ip', '-n', ns, 'link', 'set', names.switchBridge, 'type', 'bridge', 'ageing_time', want]),
    );
}

/** Whether the switch floods a frame for an unknown MAC out of this port (switch.unknownUnicast). */
async function convergeFlood(lab: Lab, ns: string, port: string, apply: Apply): Promise<void> {
  const want = lab.switch.unknownUnicast === 'drop' ? '0' : '1';
  const file = `/sys/class/net/${port}/brport/unicast_flood`;
  const have = (await run(['ip', 'netns', 'exec', ns, 'cat', file], { check: false })).stdout.trim();
  if (have !== want)
    await apply(`switch port ${port}: unknown unicast ${want === '1' ? 'flooded' : 'dropped'}`, () =>
      run(['ip', '-n', ns, 'link', 'set', port, 'type', 'bridge_slave', 'flood', want === '1' ? 'on' : 'off']),
    );
}

/** The lab NICs of a host, where duplicate address detection applies (management is IPv4 only). */
const labNics = (h: LabHost) => h.interfaces.filter((i) => i.network !== 'management').map((i) => i.name);

/**
 * accept_dad on the host's lab NICs and its default for links made later (FRR's macvlans), as
 * switch.dad says: 1 as on a real host, 0 where the lab skips DAD. all stays 0: the kernel runs
 * DAD where either all or the link's own is on.
 */
async function convergeDad(lab: Lab, ns: string, h: LabHost, apply: Apply, absent: string[]): Promise<void> {
  const want = lab.switch.dad ? '1' : '0';
  const keys = ['default', ...labNics(h).filter((i) => !absent.includes(i))];
  const r = await run(
    ['ip', 'netns', 'exec', ns, 'cat', ...keys.map((k) => `/proc/sys/net/ipv6/conf/${k}/accept_dad`)],
    {
      check: false,
    },
  );
  const have = r.stdout.split('\n');
  const wrong = keys.filter((_k, n) => have[n]?.trim() !== want);
  if (wrong.length)
    await apply(`${h.name}: accept_dad ${want} on ${wrong.join(', ')}`, () =>
      sysctl(ns, ...wrong.map((k) => `net/ipv6/conf/${k}/accept_dad=${want}`)),
    );
}

/**
 * Waits until the host's lab addresses have passed duplicate address detection (up to 2 s: a
 * random delay below rtr_solicit_delay, then one solicitation and retrans_timer), as a booting
 * Debian host does before its services start. An address another machine holds fails it: an error
 * naming both, for a lab whose addresses clash.
 */
async function settleDad(ns: string, h: LabHost): Promise<void> {
  const nics = labNics(h);
  const pending = async (flag: 'tentative' | 'dadfailed') =>
    (await ipJson<IpAddr[]>(['-n', ns, '-6', 'addr', 'show', flag]))
      // Without carrier (a pulled cable, a dark switch) DAD waits for it: nothing to wait for here.
      .filter((l) => nics.includes(l.ifname) && l.flags.includes('LOWER_UP'))
      .flatMap((l) => (l.addr_info ?? []).filter((a) => a.local).map((a) => `${a.local} on ${l.ifname}`));
  await waitFor(
    `${h.name}'s IPv6 addresses to pass duplicate address detection`,
    async () => {
      const failed = await pending('dadfailed');
      if (failed.length)
        throw new Error(
          `${h.name}: duplicate address detection failed for ${failed.join(', ')}: another machine on that L2 domain holds it; ` +
            'give the lab addresses no other machine uses',
        );
      return (await pending('tentative')).length ? undefined : true;
    },
    5000,
    50,
  );
}

/** Refuses a management subnet the host already routes elsewhere (another lab, a real network). */
async function checkRouteFree(lab: Lab): Promise<void> {
  const routes = await ipJson<{ dst: string; dev?: string }[]>(['route', 'show']);
  const mgmt = cidrRange(parseCidr(lab.management.ipv4) as Cidr);
  const clash = routes.find((r) => {
    if (r.dst === 'default' || r.dev === names.mgmtBridge(lab.name)) return false;
    const c = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/${r.dst.includes(':') ? 128 : 32}`, false);
    return typeof c !== 'string' && overlaps(cidrRange(c), mgmt);
  });
  if (clash)
    throw new UsageError(
      `management.ipv4 ${lab.management.ipv4} is already routed on this host (${clash.dst} dev ${clash.dev}); choose another management ` +
        `subnet in the lab file`,
    );
}

function sshdConfig(listen: string): string {
  return [
    '# Written by l2lab (lab:up). sshd of this lab node, on its management address only.',
    `ListenAddress ${listen}`,
    'Port 22',
    'HostKey /etc/l2lab/ssh/ssh_host_ed25519_key',
    'PidFile none',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'AuthorizedKeysFile /etc/l2lab/ssh/authorized_keys',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'MaxStartups 100:30:200',
    'MaxSessions 64',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    '',
  ].join('\n');
}

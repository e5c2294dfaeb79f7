// The VM provider: one Vagrant machine per node plus the client, from the lab file.
//   - l2lab defines the two libvirt networks itself before `vagrant up`: the lab switch
//     (isolated, no host address: only the lab's machines on it) and the management network
//     (fixed DHCP leases = the lab file's management addresses, SSH only; NAT only with
//     vagrant.nat). vagrant-libvirt finds them by name and uses them as they are.
//   - `vagrant up` boots what is not running (in parallel); then each machine is configured
//     over SSH: the lab's root key, its own host key (pinned from then on), the lab-switch
//     IPv6 address, l2l-service and the l2lab runtime, so that everything above the provider
//     (playbooks, subjects, the prober) runs as on the netns lab.
//   - Faults are the hypervisor's: power off = destroy (a power cut, not a shutdown), link
//     down = the NIC's carrier; process faults through l2l-service on the machine.

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { NodeSSH } from 'node-ssh';
import { run, waitFor } from '../../command.ts';
import { heldOn } from '../../faults/index.ts';
import { readIf, writeAtomic } from '../../files.ts';
import { domainOf, findHost, ifaceOf, mgmt, switchNic } from '../../hosts.ts';
import * as names from '../../names.ts';
import { nodeFilesDir, repoRoot } from '../../paths.ts';
import type { Capabilities, ConvergeContext, ExecResult, Progress, Provider } from '../../provider.ts';
import { shq } from '../../quote.ts';
import { type Runtime, runtimeBundle } from '../../runtime.ts';
import { connectEndpoint, publicKey, type SshEndpoint, sshBanner } from '../../ssh.ts';
import { OverSsh, SshMachines } from '../../ssh-machines.ts';
import { commonStatus, readFaults } from '../../state.ts';
import { type HostStatus, type Lab, type LabHost, type LabStatus, MANAGEMENT_INTERFACE } from '../../types.ts';
import { UsageError } from '../../validation.ts';
import { capabilities } from './about.ts';
import { ensureBox, ensureLibvirt, VAGRANT_HOME, vagrantEnv } from './box.ts';
import { type Hypervisor, hypervisors, type PowerState } from './hypervisor.ts';
import { type VagrantSpec, vagrantSpec } from './spec.ts';

/** Where the l2lab runtime lives on a VM; the checkout's path (as on the host) links to it. */
const RUNTIME_DIR = '/opt/l2lab/runtime';
/** The lab's paths, with this provider's own files: the VM spec the Vagrantfile reads, Vagrant's dotfile. */
const files = (lab: string) => {
  const p = names.labPaths(lab);
  return { ...p, spec: p.own('vagrant.json'), dotfile: p.own('vagrant') };
};
const domain = (lab: string, host: string) => `${names.prefix(lab)}${host}`;
/** Under TCG a boot takes minutes; with KVM seconds. */
const bootTimeoutMs = (lab: Lab) => (lab.vagrant.driver === 'qemu' ? 15 : 3) * 60_000;

export class VagrantProvider extends OverSsh implements Provider {
  readonly name = 'vagrant';
  readonly capabilities: Capabilities = capabilities;
  protected readonly machines = new SshMachines(
    (lab, host) => this.endpoint(lab, findHost(lab, host)),
    'is it powered off? run lab:up (or undo the power-off fault)',
  );

  private hv(lab: Pick<Lab, 'vagrant'>): Hypervisor {
    return hypervisors[lab.vagrant.provider];
  }

  async preflight(lab: Lab, progress: Progress): Promise<void> {
    await preflight(lab);
    if (lab.vagrant.provider === 'libvirt') await ensureLibvirt();
    await ensureBox(lab.vagrant.box, (m) => progress.info(m));
  }

  async converge(lab: Lab, ctx: ConvergeContext): Promise<void> {
    const { apply, faults, progress } = ctx;
    const f = files(lab.name);
    const spec = vagrantSpec(lab);
    const specText = `${JSON.stringify(spec, null, 2)}\n`;
    if (readIf(f.spec) !== specText)
      await apply('VM spec for the Vagrantfile', async () => writeAtomic(f.spec, specText, 0o644));
    if (lab.vagrant.provider === 'libvirt') await convergeNetworks(lab, spec, apply);

    // Boot what is off, except machines a power-off fault keeps off (lab:up leaves faults alone).
    const off = new Set(
      hosts(lab)
        .filter((h) => heldOn(faults, h.name, lab).powerOff)
        .map((h) => h.name),
    );
    const states = await this.hv(lab).states(names.prefix(lab.name));
    // A vagrant up killed half-way leaves domains without their NICs: those are rebuilt.
    for (const h of hosts(lab)) {
      const dom = domain(lab.name, h.name);
      if (!states.has(dom) || off.has(h.name)) continue;
      const macs = await this.hv(lab).macs(dom);
      const missing = h.interfaces.filter((i) => !macs.includes(i.mac));
      if (missing.length)
        await apply(
          `${h.name}: rebuild (VM lacks ${missing.map((i) => `${i.name} ${i.mac}`).join(', ')})`,
          async () => {
            await this.hv(lab).remove(dom);
            rmSync(join(f.dotfile, 'machines', h.name), { recursive: true, force: true });
            states.delete(dom);
          },
        );
    }
    const down = hosts(lab).filter((h) => !off.has(h.name) && states.get(domain(lab.name, h.name)) !== 'running');
    if (down.length)
      await apply(
        `vagrant up ${down.map((h) => h.name).join(' ')} (${lab.vagrant.provider}${
          lab.vagrant.driver === 'qemu' ? ', software ' + 'emulation: minutes' : ''
        })`,
        () => this.vagrant(lab, ['up', ...down.map((h) => h.name)], progress, bootTimeoutMs(lab) * 2),
      );

    const runtime = await runtimeBundle();
    // A machine whose management cable a fault has pulled cannot be reached: it is configured once the fault is undone.
    await Promise.all(
      hosts(lab)
        .filter((h) => !off.has(h.name) && !heldOn(faults, h.name, lab).unplugged.includes(MANAGEMENT_INTERFACE))
        .map((h) => this.configure(lab, h, runtime, apply)),
    );
  }

  /** Runs vagrant with the lab's spec; its output becomes progress lines, its failure names the VM. */
  private async vagrant(
    lab: Pick<Lab, 'name'>,
    args: string[],
    progress: Progress,
    timeoutMs: number,
  ): Promise<string> {
    const f = files(lab.name);
    const p = execa('vagrant', args, {
      cwd: repoRoot,
      env: { ...vagrantEnv(f.spec), VAGRANT_DOTFILE_PATH: f.dotfile },
      all: true,
      reject: false,
      timeout: timeoutMs,
      stdin: 'ignore',
    });
    const lines: string[] = [];
    for await (const line of p.iterable({ from: 'all' })) {
      // Upload progress redraws one line with ESC[K; domain settings are one line each: noise.
      const l = String(line)
        // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC[K is what vagrant writes
        .split(/\x1b\[K|\r/)
        .at(-1)!
        .trimEnd();
      lines.push(l);
      if (l.trim() && !/^==> [^:]+:\s+(--|No version detected|generating a local metadata|See https:)/.test(l.trim()))
        progress.info(`vagrant: ${l.trim()}`);
    }
    const r = await p;
    if (r.exitCode !== 0) {
      const vm = [...lines]
        .reverse()
        .map((l) => /^(?:==> )?([a-z][a-z0-9-]*):/.exec(l.trim())?.[1])
        .find(Boolean);
      throw new Error(
        `vagrant ${args.join(' ')} failed${vm ? ` on ${vm}` : ''} (exit ${r.exitCode ?? (r.timedOut ? 'timeout' : '?')}):\n${lines
          .filter((l) => l.trim())
          .slice(-12)
          .join('\n')}`,
      );
    }
    return lines.join('\n');
  }

  /** First contact as Vagrant's user, then everything as root with the lab's key and the pinned host key. */
  private async configure(
    lab: Lab,
    h: LabHost,
    runtime: Runtime,
    apply: (what: string, fn: () => Promise<unknown>) => Promise<void>,
  ): Promise<void> {
    const ep = this.endpoint(lab, h);
    let conn = await this.machines.conn(lab, h.name).catch(() => undefined);
    if (!conn) {
      await apply(`${h.name}: root key and host key`, async () => {
        // The one connection that cannot pin: Vagrant's own key, on the local management network,
        // right after Vagrant itself connected. It installs the host key pinned from then on.
        const vagrantKey = join(files(lab.name).dotfile, 'machines', h.name, lab.vagrant.provider, 'private_key');
        const first = await connectTofu(
          mgmt(h).ipv4,
          'vagrant',
          readIf(vagrantKey) ??
            readFileSync(join(process.env.VAGRANT_HOME ?? '/var/lib/l2l-vagrant', 'insecure_private_key'), 'utf8'),
        );
        try {
          const key = readFileSync(files(lab.name).hostKey(h.name), 'utf8');
          const script = [
            'set -eu',
            'install -d -m 0700 /root/.ssh',
            `printf '%s\\n' '${publicKey(`${files(lab.name).clientKey}.pub`)}' > /root/.ssh/authorized_keys && chmod 600 ` +
              `/root/.ssh/authorized_keys`,
            `cat > /etc/ssh/l2lab_host_ed25519_key <<'L2L_KEY'\n${key.trim()}\nL2L_KEY`,
            'chmod 600 /etc/ssh/l2lab_host_ed25519_key',
            "printf 'HostKey /etc/ssh/l2lab_host_ed25519_key\\nPermitRootLogin prohibit-password\\nUseDNS no\\n' > " +
              '/etc/ssh/sshd_config.d/l2lab.conf',
            'sshd -t && systemctl restart ssh',
            // The machine's name, set here rather than by Vagrant (config.vm.hostname), whose Debian
            // guest capability restarts the network to do it: about 50 s per VM under emulation.
            `echo ${h.name} > /etc/hostname && hostname ${h.name}`,
            // l2lab's box has no /etc/hosts (Vagrant's capability wrote one): localhost, and the name.
            "[ -e /etc/hosts ] || printf '127.0.0.1 localhost\\n::1 localhost ip6-localhost ip6-loopback\\n' > /etc/hosts",
            `sed -i '/^127\\.0\\.1\\.1[[:space:]]/d' /etc/hosts && printf '127.0.1.1 ${h.name}\\n' >> /etc/hosts`,
          ].join('\n');
          const r = await first.execCommand('sudo sh -s', { stdin: script });
          if (r.code !== 0) throw new Error(`setting up root access failed (exit ${r.code}): ${r.stderr.trim()}`);
        } finally {
          first.dispose();
        }
        conn = await waitFor(
          `${h.name}: SSH as root with the pinned host key`,
          () => connectEndpoint(ep, 5000).catch(() => undefined),
          60_000,
          500,
        );
      });
    }
    this.machines.adopt(h.name, conn!);
    const c = conn!;
    const sh = async (cmd: string, stdin?: string) => {
      const r = await c.execCommand(cmd, stdin === undefined ? {} : { stdin });
      if (r.code !== 0)
        throw new Error(
          `${cmd.split('\n')[0]} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`,
        );
      return r.stdout;
    };
    const sw = switchNic(h);
    const boot = [
      '#!/bin/sh',
      '# l2lab: at every boot, the lab-switch IPv6 address and the services enabled in /etc/l2lab/services.',
      'mkdir -p /run/l2lab /var/log/l2lab /var/lib/l2lab',
      ...dadLines(lab, h, 'before'),
      ...(sw.ipv6 ? [`ip -6 addr replace ${sw.ipv6}/${sw.ipv6Prefix} dev eth1${lab.switch.dad ? '' : ' nodad'}`] : []),
      ...domainNicLines(lab, h),
      ...dadLines(lab, h, 'after'),
      // The runtime lives in /opt; the checkout's path on the host may be under /tmp, which Debian empties at boot.
      `mkdir -p ${shq(dirname(runtime.root))} && ln -sfn ${RUNTIME_DIR} ${shq(runtime.root)}`,
      '/etc/l2lab/bin/l2l-service start-enabled >> /var/log/l2lab/boot.log 2>&1 || true',
      '',
    ].join('\n');
    const unit = [
      '[Unit]',
      'Description=l2lab node (lab-switch IPv6, l2l-service services)',
      'After=network-online.target',
      'Wants=network-online.target',
      '',
      '[Service]',
      'Type=oneshot',
      'RemainAfterExit=yes',
      'ExecStart=/etc/l2lab/bin/l2lab-boot',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    const want = new Map([
      ['/etc/l2lab/bin/l2l-service', readFileSync(join(nodeFilesDir, 'l2l-service'), 'utf8')],
      ['/etc/l2lab/bin/l2l-label', readFileSync(join(nodeFilesDir, 'l2l-label'), 'utf8')],
      ['/etc/l2lab/bin/l2l-backend', readFileSync(join(nodeFilesDir, 'l2l-backend'), 'utf8')],
      ['/etc/l2lab/bin/l2lab-boot', boot],
      ['/etc/systemd/system/l2lab-boot.service', unit],
    ]);
    const have = await sh(
      `for f in ${[...want.keys()].join(' ')}; do printf '%s\\n' "== $f"; cat "$f" 2>/dev/null; done; true`,
    );
    const current = new Map(
      have
        .split(/^== /m)
        .filter(Boolean)
        .map((b) => {
          const i = b.indexOf('\n');
          return [b.slice(0, i), b.slice(i + 1)] as [string, string];
        }),
    );
    for (const [path, content] of want) {
      if ((current.get(path) ?? '').trimEnd() === content.trimEnd()) continue;
      await apply(`${h.name}: ${path}`, () =>
        sh(
          `mkdir -p /etc/l2lab/bin /etc/l2lab/services && cat > ${path}.l2l-tmp && chmod ${path.includes('/bin/') ? 755 : 644} ` +
            `${path}.l2l-tmp && mv ${path}.l2l-tmp ${path}` +
            (path.endsWith('.service')
              ? ' && systemctl daemon-reload && systemctl enable l2lab-boot.service 2>/dev/null'
              : ''),
          content,
        ),
      );
    }
    if (!(await sh('systemctl is-active l2lab-boot.service || true')).startsWith('active'))
      await apply(`${h.name}: l2lab-boot (IPv6 on eth1, services)`, () => sh('systemctl restart l2lab-boot.service'));
    if ((await sh('node --version 2>/dev/null || true')).trim() !== runtime.nodeVersion)
      await apply(`${h.name}: Node ${runtime.nodeVersion}`, async () => {
        await c.putFile(runtime.node, '/usr/local/bin/node.l2l-tmp');
        await sh(
          'chmod 755 /usr/local/bin/node.l2l-tmp && mv /usr/local/bin/node.l2l-tmp /usr/local/bin/node && ln -sf /usr/local/bin/node ' +
            '/usr/bin/node',
        );
      });
    const root = shq(runtime.root);
    if (
      (await sh(`cat /var/lib/l2lab/runtime.id 2>/dev/null; test -e ${root}/dist || echo missing`)).trim() !==
      runtime.id
    )
      await apply(`${h.name}: l2lab runtime ${runtime.id} in ${RUNTIME_DIR}, at ${runtime.root}`, async () => {
        await c.putFile(runtime.tar, '/var/tmp/l2l-runtime.tar');
        await sh(
          `set -e; rm -rf ${RUNTIME_DIR}; mkdir -p ${RUNTIME_DIR} /var/lib/l2lab ${shq(dirname(runtime.root))}; tar -xf ` +
            `/var/tmp/l2l-runtime.tar -C ${RUNTIME_DIR}; rm -f /var/tmp/l2l-runtime.tar; ` +
            `[ -L ${root} ] || rm -rf ${root}; ln -sfn ${RUNTIME_DIR} ${root}; echo ${runtime.id} > /var/lib/l2lab/runtime.id`,
        );
      });
  }

  private endpoint(lab: Lab, h: LabHost): SshEndpoint {
    return {
      name: h.name,
      host: mgmt(h).ipv4,
      port: 22,
      user: names.sshUser,
      identityFile: files(lab.name).clientKey,
      hostKey: publicKey(`${files(lab.name).hostKey(h.name)}.pub`),
    };
  }

  async remove(labName: string, { progress }: { progress: Progress }): Promise<string[]> {
    await this.close(); // connections to machines about to be destroyed
    const f = files(labName);
    const spec = readIf(f.spec) ? (JSON.parse(readIf(f.spec)!) as VagrantSpec) : undefined;
    // By name only, so it also cleans what a crash left: every VM, disk and network named l2l-<lab>-.
    const removed: string[] = [];
    for (const hv of spec ? [hypervisors[spec.provider]] : Object.values(hypervisors)) {
      if (hv.name === 'libvirt') await ensureLibvirt().catch(() => {});
      progress.step(`${hv.name}: remove ${names.prefix(labName)}*`);
      removed.push(...(await hv.sweep(names.prefix(labName))));
    }
    return removed;
  }

  async status(lab: Lab, opts: { probe?: boolean } = {}): Promise<LabStatus> {
    const probe = opts.probe ?? true;
    const f = files(lab.name);
    const states: Map<string, PowerState> = existsSync(f.dir)
      ? await this.hv(lab).states(names.prefix(lab.name))
      : new Map();
    const faults = existsSync(f.dir) ? readFaults(lab) : [];
    const hostStatus = async (h: LabHost): Promise<HostStatus> => {
      const dom = domain(lab.name, h.name);
      const powered = states.get(dom) === 'running' || states.get(dom) === 'paused';
      const key = readIf(`${files(lab.name).hostKey(h.name)}.pub`)
        ?.trim()
        .split(/\s+/)
        .slice(0, 2)
        .join(' ');
      const m = mgmt(h);
      const interfaces = await Promise.all(
        h.interfaces.map(async (i) => ({
          ...i,
          up:
            powered &&
            (probe ? await this.hv(lab).linkUp(dom, i.mac) : !heldOn(faults, h.name, lab).unplugged.includes(i.name)),
        })),
      );
      return {
        name: h.name,
        role: h.role,
        labels: h.labels,
        namespace: '',
        domain: dom,
        powered,
        interfaces,
        // OpenSSH re-executes itself for every connection before it sends its banner: seconds on
        // an emulated guest that is busy (CI saw a fresh lab read as degraded with 1 s).
        sshd: powered ? (probe ? await sshBanner(m.ipv4, 5000) : true) : false,
        ...(key ? { ssh: { host: m.ipv4, port: 22, user: names.sshUser, hostKey: key } } : {}),
      };
    };
    const all = await Promise.all(hosts(lab).map(hostStatus));
    const state = all.every((h) => h.powered && h.interfaces.every((i) => i.up) && h.sshd)
      ? 'up'
      : all.some((h) => h.powered)
        ? 'degraded'
        : 'down';
    return {
      ...commonStatus(lab, this.name, faults),
      state,
      switch: { ...lab.switch, network: `${names.prefix(lab.name)}switch` },
      management: {
        ...lab.management,
        network: `${names.prefix(lab.name)}mgmt`,
        bridge: `${names.prefix(lab.name)}mg`,
      },
      nodes: all.slice(0, -1),
      client: all.at(-1)!,
    };
  }

  exec(lab: Lab, host: string, argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.machines.exec(lab, host, argv, opts);
  }

  /** Software emulation runs the announcers' processing several times slower. */
  timingSlackMs(lab: Lab): number {
    return lab.vagrant.driver === 'qemu' ? 1000 : 500;
  }

  /**
   * Under emulation answering 50 ARP and 50 NS requests a second takes an announcer's process
   * most of its CPU (measured: the reference agent at 50–90 % with 20 ms, 20–40 % with 50 ms),
   * and a starved holder misses its renewals: the probing itself would be the fault.
   */
  probeIntervalMs(lab: Lab): number {
    return lab.vagrant.driver === 'qemu' ? 50 : 20;
  }

  /** Off is a power cut (no shutdown, no goodbye packets); on boots the VM and waits for l2lab's boot unit. */
  /**
   * Power as a hosts file says it (`lab status --as-hosts`): the hypervisor's power cut and boot
   * of the VM named after $L2LAB_MACHINE; the hosts provider then waits for SSH.
   */
  powerCommands(lab: Lab): { off: string; on: string } {
    return this.hv(lab).powerCommands(`${names.prefix(lab.name)}"$L2LAB_MACHINE"`);
  }

  /** The domain is running (or paused: a frozen machine still has power). */
  async powered(lab: Lab, host: string): Promise<boolean> {
    const dom = domain(lab.name, findHost(lab, host).name);
    const state = (await this.hv(lab).states(dom)).get(dom);
    return state === 'running' || state === 'paused';
  }

  async power(lab: Lab, host: string, on: boolean): Promise<void> {
    const h = findHost(lab, host);
    const dom = domain(lab.name, h.name);
    if (!on) {
      await this.hv(lab).powerOff(dom);
      this.machines.drop(h.name);
      return;
    }
    if ((await this.hv(lab).states(dom)).get(dom) !== 'running') await this.hv(lab).powerOn(dom);
    await this.booted(lab, host);
  }

  /** Booted: l2lab's boot unit has run (SSH answers with the pinned key). */
  async booted(lab: Lab, host: string): Promise<void> {
    const h = findHost(lab, host);
    await waitFor(
      `${h.name} to boot (SSH with the pinned key)`,
      async () => {
        const ok = await this.exec(lab, h.name, ['systemctl', 'is-active', 'l2lab-boot.service'], {
          timeoutMs: 10_000, // a connection from before a power cycle hangs: a fresh one next time
        }).then(
          (r) => r.stdout.trim() === 'active',
          () => false,
        );
        // Not yet: the next poll on a fresh connection. A booted machine keeps its own (other commands run on it).
        if (!ok) this.machines.drop(h.name);
        return ok ? true : undefined;
      },
      bootTimeoutMs(lab),
      1000,
    );
  }

  /** The NIC's carrier, as the hypervisor sets it: the guest sees the cable go. */
  async carrier(lab: Lab, host: string, iface: string, up: boolean): Promise<void> {
    const h = findHost(lab, host);
    const i = ifaceOf(h, iface);
    // A VLAN has no cable of its own: its tagged NIC goes down in the guest (the cable is eth1's).
    if (domainOf(lab, i)?.kind === 'vlan') {
      const r = await this.exec(lab, host, ['ip', 'link', 'set', iface, up ? 'up' : 'down']);
      if (r.exitCode !== 0) throw new Error(`ip link set ${iface} on ${host}: ${r.stderr.trim()}`);
      return;
    }
    await this.hv(lab).setLink(domain(lab.name, h.name), i.mac, up);
  }

  /** Closes the cached SSH connections (they keep a process alive): the suite and tests call it when done. */
  async close(): Promise<void> {
    this.machines.close();
  }
}

const hosts = (lab: Lab): LabHost[] => [...lab.nodes, lab.client];

/**
 * The boot script's lines for switch.dad. Before the addresses: accept_dad on the lab NICs there
 * are (eth1, a domain switch's NIC) and the default a VLAN made later takes (Debian's own is 1).
 * After them, with DAD on: wait until the addresses have passed it (at most 2 s), as ifupdown's
 * settle-dad.sh does before the services start.
 */
export function dadLines(lab: Lab, h: LabHost, when: 'before' | 'after'): string[] {
  const v = lab.switch.dad ? 1 : 0;
  const nics = h.interfaces.filter((i) => i.network !== 'management');
  if (when === 'before') {
    const present = nics.filter((i) => domainOf(lab, i)?.kind !== 'vlan');
    // Written to /proc: the box need not carry procps for it.
    return ['default', ...present.map((i) => i.name)].map((k) => `echo ${v} > /proc/sys/net/ipv6/conf/${k}/accept_dad`);
  }
  if (!lab.switch.dad) return [];
  const devs = nics.map((i) => i.name).join(' ');
  const tentative = `t=; for d in ${devs}; do t=$t$(ip -6 -o addr show dev $d tentative); done`;
  return [`for n in $(seq 50); do ${tentative}; [ -z "$t" ] && break; sleep 0.1; done`];
}

/**
 * The boot script's lines for the machine's NICs in further L2 domains: a VLAN domain's tagged
 * sub-interface of eth1 (the guest's Debian kernel has 802.1Q) with its addresses; a domain
 * switch's NIC gets its IPv4 from Vagrant, its IPv6 here.
 */
export function domainNicLines(lab: Lab, h: LabHost): string[] {
  return h.interfaces.flatMap((i) => {
    const d = domainOf(lab, i);
    if (!d) return [];
    const v6 = i.ipv6
      ? [`ip -6 addr replace ${i.ipv6}/${i.ipv6Prefix} dev ${i.name}${lab.switch.dad ? '' : ' nodad'}`]
      : [];
    if (d.kind === 'switch') return v6;
    return [
      `ip link show ${i.name} >/dev/null 2>&1 || ip link add link eth1 name ${i.name} type vlan id ${d.vlan}`,
      `ip addr replace ${i.ipv4}/${i.ipv4Prefix} dev ${i.name}`,
      ...v6,
      `ip link set ${i.name} up`,
    ];
  });
}

async function preflight(lab: Lab): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new Error('the vagrant provider needs root (libvirt system connection, networks); run as root');
  if (lab.switch.multicastSnooping)
    throw new Error(
      'switch.multicastSnooping: the vagrant provider does not build a snooping switch yet; use provider: netns for it, or leave it out',
    );
  for (const [key, set] of [
    ['ageingTime', lab.switch.ageingTime !== undefined],
    ['unknownUnicast', lab.switch.unknownUnicast === 'drop'],
  ] as const)
    if (set)
      throw new UsageError(
        `switch.${key}: the vagrant provider does not build an ageing or non-flooding switch yet; use provider: netns for it, or ` +
          'leave it out',
      );
  const bare = lab.domains.findIndex((d) =>
    [...lab.nodes].some((n) => n.interfaces.some((i) => i.domain === d.name && i.addresses)),
  );
  if (bare >= 0)
    throw new UsageError(
      `domains[${bare}].nodeAddresses: the vagrant provider does not build a NIC with fewer addresses yet; use provider: netns ` +
        'for it, or leave it out',
    );
  const need: [string, string][] = [
    ['vagrant', 'vagrant'],
    ['virsh', 'libvirt-clients'],
    ['libvirtd', 'libvirt-daemon-system'],
  ];
  const missing: string[] = [];
  for (const [cmd, pkg] of need)
    if ((await run(['sh', '-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { check: false })).exitCode !== 0)
      missing.push(`${cmd} (${pkg})`);
  if (missing.length)
    throw new Error(`missing on this machine: ${missing.join(', ')}. Run \`npm run setup\` to install them.`);
  if (lab.vagrant.driver === 'kvm' && !existsSync('/dev/kvm'))
    throw new Error(
      'vagrant.driver is kvm but /dev/kvm does not exist; set vagrant.driver: qemu in the lab file (software emulation: slow but works)',
    );
  const pluginDirs = ['/usr/share/rubygems-integration/all/gems', join(VAGRANT_HOME, 'gems', 'gems')];
  if (
    lab.vagrant.provider === 'libvirt' &&
    !pluginDirs.some((d) => existsSync(d) && readdirSync(d).some((f) => /^vagrant-libvirt-[\d.]+$/.test(f))) &&
    (await run(['sh', '-c', 'vagrant plugin list 2>/dev/null | grep -q vagrant-libvirt'], { check: false }))
      .exitCode !== 0
  )
    throw new Error('the vagrant-libvirt plugin is missing; run `npm run setup` (Debian package vagrant-libvirt)');
}

/** The lab switch (isolated: no host address, no DHCP) and the management network (fixed leases). */
async function convergeNetworks(
  lab: Lab,
  spec: VagrantSpec,
  apply: (what: string, fn: () => Promise<unknown>) => Promise<void>,
): Promise<void> {
  const virsh = (args: string[], check = true) => run(['virsh', '-c', 'qemu:///system', ...args], { check });
  const mg = lab.management;
  const [, prefix] = mg.ipv4.split('/');
  const mask = prefixToMask(Number(prefix));
  const leases = spec.machines
    .map((m) => `      <host mac='${m.mgmtMac}' name='${m.name}' ip='${m.mgmtIpv4}'/>`)
    .join('\n');
  const isolated = (name: string, bridge: string): [string, string] => [
    name,
    `<network>\n  <name>${name}</name>\n  <bridge name='${bridge}' stp='off' delay='0'/>\n</network>\n`,
  ];
  const nets: [string, string][] = [
    isolated(spec.network, `${names.prefix(lab.name)}sw`),
    ...spec.domainNetworks.map((d) => isolated(d.name, d.bridge)),
    [
      spec.management.name,
      `<network>\n  <name>${spec.management.name}</name>\n${lab.vagrant.nat ? "  <forward mode='nat'/>\n" : ''}  <bridge ` +
        `name='${names.prefix(lab.name)}mg' stp='off' delay='0'/>\n` +
        `  <ip address='${mg.hostAddress}' netmask='${mask}'>\n    <dhcp>\n${leases}\n    </dhcp>\n  </ip>\n</network>\n`,
    ],
  ];
  for (const [name, xml] of nets) {
    const info = await virsh(['net-info', name], false);
    if (info.exitCode !== 0) {
      await apply(`libvirt network ${name}`, async () => {
        const file = names.labPaths(lab.name).own(`${name}.xml`);
        writeAtomic(file, xml, 0o644);
        await virsh(['net-define', file]);
      });
    } else if (
      !(await virsh(['net-dumpxml', name])).stdout.includes(
        name === spec.network
          ? `${names.prefix(lab.name)}sw`
          : (spec.domainNetworks.find((d) => d.name === name)?.bridge ?? leases.split('\n')[0]!.trim()),
      )
    ) {
      throw new Error(
        `libvirt network ${name} exists but is not the one this lab file describes (changed addresses?); run lab:down, then lab:up`,
      );
    }
    if (!/Active:\s+yes/.test((await virsh(['net-info', name])).stdout))
      await apply(`start network ${name}`, () => virsh(['net-start', name]));
  }
}

function prefixToMask(p: number): string {
  const v = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}

/** Trust on first use: only for the first contact after Vagrant's own (see configure). */
async function connectTofu(host: string, user: string, privateKey: string): Promise<NodeSSH> {
  const { NodeSSH } = await import('node-ssh');
  const c = new NodeSSH();
  await c.connect({ host, port: 22, username: user, privateKey, readyTimeout: 10_000 });
  return c;
}

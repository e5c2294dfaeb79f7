// The hosts provider: machines l2lab did not build (a cluster the user already has), reached over
// SSH with host keys pinned from a known_hosts file or the lab file, never trusted blindly.
//   - lab:up builds nothing: it reaches every machine, reads its NIC on the L2 domain (MAC,
//     addresses) into the lab, makes l2lab's one directory there (hosts.dir), puts l2lab's
//     runtime on the client (the prober runs there) and checks by ARP that the client is on the
//     nodes' L2 domain. lab:down removes that directory, and nothing else.
//   - Faults use what the user declares: power through commands run on this machine (a BMC, a
//     hypervisor); a NIC's carrier through `ip link` over SSH, with an undo armed on the node
//     first, so that a lost SSH session cannot leave the node cut off.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { execa } from 'execa';
import { proberMac } from '../../addresses.ts';
import { run, waitFor } from '../../command.ts';
import type { Primitive } from '../../faults/fault.ts';
import { writeAtomic } from '../../files.ts';
import { findHost, switchNic } from '../../hosts.ts';
import { inCidr, parseCidr, parseIp } from '../../ip.ts';
import type { LabPaths } from '../../names.ts';
import { repoRoot } from '../../paths.ts';
import { inBlocks } from '../../pool.ts';
import type { Capabilities, ConvergeContext, ExecResult, Progress, Provider } from '../../provider.ts';
import { shq } from '../../quote.ts';
import { assertBundles, runtimeBundle } from '../../runtime.ts';
import { hostKeyShown } from '../../ssh.ts';
import { OverSsh, SshMachines } from '../../ssh-machines.ts';
import { commonStatus, readFaults } from '../../state.ts';
import type { HostMachine, HostStatus, HostsSettings, Lab, LabHost, LabStatus } from '../../types.ts';
import { UsageError } from '../../validation.ts';
import { capabilities } from './about.ts';
import { carrierCommands, serviceArgv } from './config.ts';

function settings(lab: Lab): HostsSettings {
  if (!lab.hosts) throw new Error(`lab ${lab.name} has no hosts: settings (provider: hosts needs them)`);
  return lab.hosts;
}
const machineOf = (lab: Lab, host: string): HostMachine => {
  const m = settings(lab).machines[findHost(lab, host).name];
  if (!m) throw new Error(`hosts.machines.${host} is missing in the lab file`);
  return m;
};

/** The host keys known_hosts holds for an address (hashed entries and ports included: ssh-keygen reads it). */
export async function knownHostKeys(file: string, host: string, port: number): Promise<string[]> {
  if (!existsSync(file)) return [];
  const r = await run(['ssh-keygen', '-F', port === 22 ? host : `[${host}]:${port}`, '-f', file], { check: false });
  return r.stdout
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('@'))
    .map((l) => l.trim().split(/\s+/).slice(1, 3).join(' '))
    .filter((k) => k.includes(' '));
}

interface NicFacts {
  mac: string;
  up: boolean;
  ipv4: string[];
  ipv6: string[];
}

/** A NIC's MAC, state and global addresses, from `ip -j addr show dev NIC` (undefined: no such NIC). */
function nicFacts(json: string): NicFacts | undefined {
  const [l] = JSON.parse(json || '[]') as {
    address?: string;
    flags?: string[];
    addr_info?: { family: string; local: string; scope: string; secondary?: boolean; deprecated?: boolean }[];
  }[];
  if (!l) return undefined;
  const global = (l.addr_info ?? []).filter((a) => a.scope === 'global' && !a.deprecated);
  return {
    mac: l.address ?? '',
    up: !!l.flags?.includes('UP') && !!l.flags?.includes('LOWER_UP'),
    // The first address is the machine's own; VIPs an announcer adds come later (or as secondary).
    ipv4: global.filter((a) => a.family === 'inet' && !a.secondary).map((a) => a.local),
    ipv6: global.filter((a) => a.family === 'inet6').map((a) => a.local),
  };
}

export class HostsProvider extends OverSsh implements Provider {
  readonly name = 'hosts';
  readonly capabilities: Capabilities = capabilities;
  protected readonly machines = new SshMachines((lab, host) => {
    const m = machineOf(lab, host);
    return {
      name: host,
      host: m.ssh,
      port: m.port,
      user: m.user,
      identityFile: settings(lab).identityFile,
      hostKey: m.hostKey ?? '',
    };
  }, 'is it powered off, or is the SSH address in hosts.machines wrong?');

  /** Power is the user's to declare (hosts.power, or a machine's power:): without it, the faults that need it are skipped. */
  lacks(lab: Lab): Primitive[] {
    return lab.nodes.every((n) => settings(lab).machines[n.name]?.power) ? [] : ['power'];
  }

  /**
   * Before anything exists: every machine reached with a pinned host key, its NIC on the L2
   * domain read into the lab (MAC, addresses), what the lab file says of it checked against that.
   * Every problem at once, each with the field and the fix.
   */
  async preflight(lab: Lab, progress: Progress): Promise<void> {
    const s = settings(lab);
    if (!existsSync(s.identityFile))
      throw new UsageError(
        `hosts.identityFile: ${s.identityFile} does not exist; give the private key SSH logs in with on every machine`,
      );
    const problems: string[] = [];
    await Promise.all(
      [...lab.nodes, lab.client].map(async (h) => {
        const m = s.machines[h.name]!;
        const where = `hosts.machines.${h.name}`;
        if (m.local) {
          progress.info(`${h.name}: this machine, ${m.nic}`);
          const facts = nicFacts((await localExec(['ip', '-j', 'addr', 'show', 'dev', m.nic])).stdout);
          if (facts) return readFacts(h, m, facts);
          problems.push(
            `${where}.nic: ${m.nic} does not exist on this machine (it has ${readdirSync('/sys/class/net').join(', ')}); ` +
              'name its NIC on the L2 domain',
          );
          return;
        }
        if (!m.hostKey) {
          const keys = await knownHostKeys(s.knownHosts, m.ssh, m.port);
          if (!keys.length) {
            problems.push(
              `${where}: no host key for ${m.ssh}${m.port === 22 ? '' : ` port ${m.port}`} in ${s.knownHosts}; check the machine's ` +
                `key fingerprint, then add it (ssh-keyscan -p ${m.port} ${m.ssh} >> ${s.knownHosts}) or give hostKey:`,
            );
            return;
          }
          m.hostKey = keys.join('\n'); // any of them; the one the machine shows is pinned below
        }
        progress.info(`${h.name}: SSH ${m.user}@${m.ssh}:${m.port}`);
        let facts: NicFacts | undefined;
        try {
          const conn = await this.machines.conn(lab, h.name);
          // The key it showed is, from now on, the only one (lab.json keeps it).
          m.hostKey = hostKeyShown(conn) ?? m.hostKey;
          const ok = await this.exec(lab, h.name, ['true']);
          if (ok.exitCode !== 0)
            throw new Error(
              m.user === 'root'
                ? `exit ${ok.exitCode}`
                : `${m.user} cannot run commands as root without a password (sudo -n)`,
            );
          const r = await this.exec(lab, h.name, ['ip', '-j', 'addr', 'show', 'dev', m.nic]);
          facts = r.exitCode === 0 ? nicFacts(r.stdout) : undefined;
          if (!facts) {
            const all = await this.exec(lab, h.name, ['ls', '/sys/class/net']);
            problems.push(
              `${where}.nic: ${m.nic} does not exist on ${h.name} (it has ${all.stdout.trim().split(/\s+/).join(', ')}); name its ` +
                'NIC on the L2 domain',
            );
            return;
          }
        } catch (e) {
          problems.push(`${where}: ${(e as Error).message}`);
          return;
        }
        readFacts(h, m, facts);
      }),
    );
    /** What the lab file says of a machine's NIC, checked against what the machine has; its MAC and addresses into the lab. */
    function readFacts(h: LabHost, m: HostMachine, facts: NicFacts): void {
      const where = `hosts.machines.${h.name}`;
      const nic = switchNic(h);
      nic.mac = facts.mac;
      for (const [family, list, cidr] of [
        [4, facts.ipv4, lab.switch.ipv4],
        [6, facts.ipv6, lab.switch.ipv6],
      ] as const) {
        const key = family === 4 ? 'ipv4' : 'ipv6';
        const subnet = parseCidr(cidr);
        const mine = list.filter((a) => typeof subnet !== 'string' && inCidr(subnet, family, parseIp(a)!.value));
        const poolFree = mine.filter((a) => !inBlocks(lab.pool.blocks, a));
        if (nic[key]) {
          if (!mine.includes(nic[key]!))
            problems.push(
              `${h.role === 'client' ? 'client' : `nodes.${h.name}`}.${key}: ${nic[key]} is not on ${h.name}'s ${m.nic} ` +
                `(it has ${list.join(', ') || `no IPv${family} address`}); fix it or leave it out (l2lab reads it)`,
            );
        } else if (poolFree[0]) nic[key] = poolFree[0];
        else if (family === 4 || h.role === 'client')
          problems.push(
            `${where}.nic: ${h.name}'s ${m.nic} has no IPv${family} address in ${cidr} (it has ${list.join(', ') || 'none'}); ` +
              `is ${m.nic} its NIC on the L2 domain, and switch.ipv${family} its subnet?`,
          );
      }
    }
    if (problems.length) {
      this.machines.close();
      throw new UsageError(
        `the machines of lab ${lab.name} are not as its lab file says:\n  - ${problems.join('\n  - ')}`,
      );
    }
  }

  async converge(lab: Lab, ctx: ConvergeContext): Promise<void> {
    const { apply, paths } = ctx;
    const s = settings(lab);
    const known = `${[...lab.nodes, lab.client]
      .flatMap((h) => {
        const m = s.machines[h.name]!;
        if (m.local) return [];
        return (m.hostKey ?? '').split('\n').map((k) => `${m.port === 22 ? m.ssh : `[${m.ssh}]:${m.port}`} ${k}`);
      })
      .join('\n')}\n`;
    if (!existsSync(paths.knownHosts) || readFileSync(paths.knownHosts, 'utf8') !== known)
      await apply('known_hosts (the machines\u2019 pinned host keys, for lab:ssh)', async () =>
        writeAtomic(paths.knownHosts, known, 0o600),
      );
    for (const h of [...lab.nodes, lab.client]) {
      const r = await this.exec(lab, h.name, ['test', '-d', s.dir]);
      if (r.exitCode !== 0)
        await apply(`${h.name}: l2lab's directory ${s.dir}`, () =>
          this.must(lab, h.name, ['mkdir', '-p', '-m', '0700', s.dir]),
        );
    }
    await this.installRuntime(lab, lab.client, apply);
    await this.checkSameL2(lab, ctx.progress);
  }

  /** The client runs l2lab's prober: Node and the runtime under l2lab's directory (content-addressed: copied when it changed). */
  private async installRuntime(lab: Lab, h: LabHost, apply: ConvergeContext['apply']): Promise<void> {
    const dir = settings(lab).dir;
    // The machine l2lab runs on runs the prober from this checkout, as a netns lab's client does.
    if (machineOf(lab, h.name).local) {
      assertBundles();
      return;
    }
    const runtime = await runtimeBundle();
    const have = await this.exec(lab, h.name, ['sh', '-c', `cat ${shq(`${dir}/runtime.id`)} 2>/dev/null; true`]);
    if (have.stdout.trim() === runtime.id) return;
    await apply(`${h.name}: Node ${runtime.nodeVersion} and l2lab's runtime ${runtime.id} in ${dir}`, async () => {
      await this.must(lab, h.name, ['rm', '-rf', `${dir}/runtime`, `${dir}/node`]);
      await this.machines.copyTo(lab, h.name, runtime.node, `${dir}/node`);
      await this.machines.copyTo(lab, h.name, runtime.tar, `${dir}/runtime.tar`);
      await this.must(lab, h.name, [
        'sh',
        '-c',
        `set -e; cd ${shq(dir)}; chmod 755 node; mkdir runtime; tar -xf runtime.tar -C runtime; rm -f runtime.tar; ` +
          `echo ${runtime.id} > runtime.id`,
      ]);
    });
  }

  /**
   * The client must be on the nodes' L2 domain: its prober asks each node's address by ARP (and
   * NDP) from its NIC, and the node's own MAC must answer. Before any fault, or nothing measured means anything.
   */
  private async checkSameL2(lab: Lab, progress: Progress): Promise<void> {
    const at = this.machinePaths(lab);
    const nic = switchNic(lab.client);
    const p = settings(lab).prober;
    const targets = lab.nodes.flatMap((n) => {
      const x = switchNic(n);
      return [x.ipv4 && p.ipv4.length ? x.ipv4 : '', x.ipv6 && p.ipv6.length ? x.ipv6 : ''].filter(Boolean);
    });
    progress.info(`${lab.client.name}: ARP/NDP for every node from ${nic.name}`);
    const r = await this.exec(
      lab,
      lab.client.name,
      [
        at.node,
        `${at.root}/dist/probe.mjs`,
        '--iface',
        nic.name,
        '--mac',
        proberMac(nic.mac),
        ...p.ipv4.slice(0, 1).flatMap((a) => ['--ipv4', a]),
        ...p.ipv6.slice(0, 1).flatMap((a) => ['--ipv6', a]),
        ...targets.flatMap((t) => ['--vip', t]),
        '--any-answer',
        '--interval-ms',
        '50',
        '--duration-ms',
        '600',
      ],
      { timeoutMs: 30_000 },
    );
    if (r.exitCode !== 0)
      throw new Error(
        `the prober cannot run on ${lab.client.name} (exit ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}; ` +
          'the client needs libpcap (Debian: libpcap0.8) and the same CPU architecture as this machine',
      );
    const { events } = JSON.parse(r.stdout) as ProbeResultLike;
    const wrong: string[] = [];
    for (const n of lab.nodes) {
      const x = switchNic(n);
      for (const a of [x.ipv4, x.ipv6].filter((t) => t && targets.includes(t))) {
        const who = new Set(
          events.filter((e) => (e.kind === 'arp-reply' || e.kind === 'na') && e.vip === a).map((e) => e.mac),
        );
        if (!who.has(x.mac))
          wrong.push(`${n.name}'s ${a} (${x.mac}): ${who.size ? `answered by ${[...who].join(', ')}` : 'no answer'}`);
      }
    }
    if (wrong.length)
      throw new UsageError(
        `hosts.machines.${lab.client.name}.nic: the client's ${nic.name} is not on the nodes' L2 domain (asked by ARP/NDP from it: ` +
          `${wrong.join('; ')}); name the client's NIC on that domain, or a client that has one`,
      );
  }

  /** By the lab's saved state (lab.json): its directory on every machine it can reach; the others are named. */
  async remove(_labName: string, ctx: { paths: LabPaths; progress: Progress }): Promise<string[]> {
    const saved = existsSync(ctx.paths.labJson)
      ? (JSON.parse(readFileSync(ctx.paths.labJson, 'utf8')) as Lab)
      : undefined;
    if (!saved?.hosts) return [];
    const removed: string[] = [];
    const left: string[] = [];
    for (const h of [...saved.nodes, saved.client]) {
      const dir = saved.hosts.dir;
      ctx.progress.step(`${h.name}: remove ${dir}`);
      const r = await this.exec(saved, h.name, ['rm', '-rf', dir]).catch((e: Error) => ({
        exitCode: -1,
        stdout: '',
        stderr: e.message,
      }));
      if (r.exitCode === 0) removed.push(`${h.name}:${dir}`);
      else left.push(`${h.name} (${r.stderr.trim()}): remove ${dir} there by hand`);
    }
    this.machines.close();
    if (left.length) ctx.progress.info(`not removed: ${left.join('; ')}`);
    return removed;
  }

  async status(lab: Lab, opts: { probe?: boolean } = {}): Promise<LabStatus> {
    const probe = opts.probe ?? true;
    const s = settings(lab);
    const faults = readFaults(lab);
    const hostStatus = async (h: LabHost): Promise<HostStatus> => {
      const m = s.machines[h.name]!;
      let facts: NicFacts | undefined;
      let reached = !probe;
      if (probe) {
        const r = await this.exec(lab, h.name, ['ip', '-j', 'addr', 'show', 'dev', m.nic], {
          timeoutMs: 10_000,
        }).catch(() => undefined);
        reached = !!r;
        facts = r?.exitCode === 0 ? nicFacts(r.stdout) : undefined;
      }
      const off = faults.some((f) => f.kind === 'power-off' && f.node === h.name);
      return {
        name: h.name,
        role: h.role,
        labels: h.labels,
        namespace: '',
        powered: probe ? reached : !off,
        interfaces: h.interfaces.map((i) => ({ ...i, up: probe ? !!facts?.up : !off })),
        sshd: reached,
        ...(m.hostKey && !m.local
          ? { ssh: { host: m.ssh, port: m.port, user: m.user, hostKey: m.hostKey.split('\n')[0]! } }
          : {}),
      };
    };
    const all = await Promise.all([...lab.nodes, lab.client].map(hostStatus));
    const state = all.every((h) => h.powered && h.sshd && h.interfaces.every((i) => i.up))
      ? 'up'
      : all.some((h) => h.powered)
        ? 'degraded'
        : 'down';
    const common = commonStatus(lab, this.name, faults);
    return {
      ...common,
      ssh: { ...common.ssh, identityFile: s.identityFile },
      state,
      switch: { ...lab.switch },
      management: { ...lab.management },
      nodes: all.slice(0, -1),
      client: all.at(-1)!,
    };
  }

  /** true once a command runs on the machine over SSH; undefined until then (for waitFor). */
  private async reachable(lab: Lab, host: string): Promise<true | undefined> {
    const r = await this.exec(lab, host, ['true'], { timeoutMs: 5000 }).catch(() => undefined);
    return r?.exitCode === 0 ? true : undefined;
  }

  /** As the machine's user; through sudo where that is not root. */
  async exec(
    lab: Lab,
    host: string,
    argv: string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    const m = machineOf(lab, host);
    if (m.local) return localExec(argv, opts);
    if (!m.hostKey) {
      // A lab read from its file before lab:up saw the machine: its keys from known_hosts.
      const s = settings(lab);
      m.hostKey = (await knownHostKeys(s.knownHosts, m.ssh, m.port)).join('\n');
      if (!m.hostKey)
        throw new UsageError(
          `hosts.machines.${host}: no host key for ${m.ssh} in ${s.knownHosts}; run lab up, which says how to add it`,
        );
    }
    return this.machines.exec(lab, host, m.user === 'root' ? argv : ['sudo', '-n', '--', ...argv], opts);
  }

  private async must(lab: Lab, host: string, argv: string[]): Promise<void> {
    const r = await this.exec(lab, host, argv);
    if (r.exitCode !== 0)
      throw new Error(`${argv.join(' ')} on ${host} failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }

  /** l2lab's programs and scratch files on a machine: under its directory there. */
  machinePaths(lab: Lab): { node: string; root: string; tmp: string } {
    const dir = settings(lab).dir;
    if (machineOf(lab, lab.client.name).local) return { node: process.execPath, root: repoRoot, tmp: dir };
    return { node: `${dir}/node`, root: `${dir}/runtime`, tmp: dir };
  }

  /** The machine l2lab runs on keeps this clock and these files. */
  override clockOffset(lab: Lab, host: string): Promise<{ offsetMs: number; uncertaintyMs: number }> {
    if (machineOf(lab, host).local) return Promise.resolve({ offsetMs: 0, uncertaintyMs: 0 });
    return super.clockOffset(lab, host);
  }

  override hostTime(lab: Lab, host: string, ms: number): Promise<number> {
    return machineOf(lab, host).local ? Promise.resolve(ms) : super.hostTime(lab, host, ms);
  }

  override copyFrom(lab: Lab, host: string, remote: string, local: string): Promise<void> {
    return machineOf(lab, host).local ? copyFile(remote, local) : super.copyFrom(lab, host, remote, local);
  }

  /** The hosts file's service commands on the node, with $L2LAB_SERVICE and $L2LAB_SIGNAL; l2l-service where it declares none. */
  service(lab: Lab, host: string, args: string[]): Promise<ExecResult> {
    return this.exec(lab, host, serviceArgv(machineOf(lab, host), args));
  }

  /** The user's commands, run on this machine with the node named in $L2LAB_MACHINE and $L2LAB_ADDRESS. */
  async power(lab: Lab, host: string, on: boolean): Promise<void> {
    const m = machineOf(lab, host);
    if (!m.power)
      throw new Error(`hosts.machines.${host}.power (or hosts.power) is not given: l2lab cannot power ${host}`);
    const cmd = on ? m.power.on : m.power.off;
    const r = await execa('sh', ['-c', cmd], {
      reject: false,
      env: { L2LAB_MACHINE: host, L2LAB_ADDRESS: m.ssh },
      stdin: 'ignore',
      timeout: 120_000,
    });
    if (r.exitCode !== 0)
      throw new Error(
        `power ${on ? 'on' : 'off'} ${host}: \`${cmd}\` failed (exit ${r.exitCode}): ${String(r.stderr || r.stdout).trim()}`,
      );
    this.machines.drop(host);
    if (!on) return;
    const budgetS = settings(lab).powerOnTimeoutS;
    await waitFor(
      `${host} to answer SSH after \`${cmd}\``,
      () => this.reachable(lab, host),
      budgetS * 1000,
      1000,
    ).catch(() => {
      throw new Error(
        `${host} did not answer SSH within ${budgetS} s of \`${cmd}\` (hosts.powerOnTimeout): check it, then ` +
          `\`l2lab lab fault undo power-off ${host} --lab ${lab.file}\``,
      );
    });
  }

  /**
   * The NIC goes down over SSH, an undo armed on the machine first: if this SSH session is what
   * goes (the node is reached over that NIC), the node brings it back by itself.
   */
  async carrier(lab: Lab, host: string, iface: string, up: boolean): Promise<number | undefined> {
    const cmd = carrierCommands(settings(lab), host, iface);
    const undoAfterS = settings(lab).carrierUndoS;
    if (!up) {
      await this.must(lab, host, ['sh', '-c', cmd.armUndo]);
      // The fault's moment: the down command sent, not the undo armed before it (one SSH round trip
      // that a failover measured from the call's start would count: 40-116 ms here).
      const at = Date.now();
      // The session may go with the link (a node reached over that NIC): sent, then it drops.
      const r = await this.exec(lab, host, ['sh', '-c', cmd.down], { timeoutMs: 2000 }).catch(() => undefined);
      if (r && r.exitCode !== 0) throw new Error(`ip link set dev ${iface} down on ${host}: ${r.stderr.trim()}`);
      return at;
    }
    const back = await this.exec(lab, host, ['sh', '-c', cmd.up], { timeoutMs: 10_000 }).catch(() => undefined);
    if (back?.exitCode === 0) return undefined;
    // The session went with the link: the machine's own undo brings it back.
    this.machines.drop(host);
    await waitFor(
      `${host} to bring ${iface} back by itself (its undo, ${undoAfterS} s after the fault)`,
      () => this.reachable(lab, host),
      (undoAfterS + 60) * 1000,
      2000,
    );
    return undefined;
  }

  async close(): Promise<void> {
    this.machines.close();
  }
}

/** A command on the machine l2lab runs on, as root (through sudo -n where l2lab is not). */
async function localExec(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  const asRoot = process.getuid?.() === 0 ? argv : ['sudo', '-n', '--', ...argv];
  return run(asRoot, { ...opts, check: false });
}

/** What the check reads of the prober's report (conformance/events.ts: ProbeResult). */
interface ProbeResultLike {
  events: { kind: string; vip: string; mac?: string }[];
}

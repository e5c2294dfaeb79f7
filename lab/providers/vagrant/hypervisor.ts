// What the vagrant provider asks of the hypervisor under Vagrant, beyond Vagrant itself: a real
// power cut (vagrant halt --force asks the guest first), power on, the cable of one NIC, and a
// sweep of everything named l2l-<lab>- for lab:down after a crash. One small interface, one
// implementation per Vagrant provider.
import { existsSync } from 'node:fs';
import { run } from '../../command.ts';

export type PowerState = 'running' | 'paused' | 'off';

export interface Hypervisor {
  readonly name: 'libvirt';
  /** Power state of every domain/VM whose name starts with prefix, by full name. */
  states(prefix: string): Promise<Map<string, PowerState>>;
  powerOff(vm: string): Promise<void>;
  powerOn(vm: string): Promise<void>;
  /** The same two as shell command lines for a VM named `vm` (a shell word): a hosts file's power commands. */
  powerCommands(vm: string): { off: string; on: string };
  /** Carrier of the NIC with this MAC: down is a pulled cable (the guest sees carrier loss). */
  setLink(vm: string, mac: string, up: boolean): Promise<void>;
  linkUp(vm: string, mac: string): Promise<boolean>;
  /** MACs of the VM's NICs, lower case. */
  macs(vm: string): Promise<string[]>;
  /** Powers off and deletes one VM with its disks. */
  remove(vm: string): Promise<void>;
  /** Removes every VM, disk and network whose name starts with prefix; returns what it removed. */
  sweep(prefix: string): Promise<string[]>;
}

/** virsh on the system's libvirt, where Vagrant's libvirt provider puts the lab's VMs. */
const VIRSH = ['virsh', '-c', 'qemu:///system'];
const virsh = (args: string[], check = true) => run([...VIRSH, ...args], { check, timeoutMs: 120_000 });
/** The verbs of a power cut and a power on, for the provider and for a hosts file alike. */
const POWER = { off: 'destroy', on: 'start' } as const;

export const libvirt: Hypervisor = {
  name: 'libvirt',
  async states(prefix) {
    const out = new Map<string, PowerState>();
    const r = await virsh(['list', '--all'], false);
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*(\d+|-)\s+(\S+)\s+(.+?)\s*$/.exec(line);
      if (!m || !m[2]!.startsWith(prefix)) continue;
      out.set(m[2]!, m[3] === 'running' ? 'running' : m[3] === 'paused' ? 'paused' : 'off');
    }
    return out;
  },
  async powerOff(vm) {
    await virsh([POWER.off, vm]);
  },
  async powerOn(vm) {
    await virsh([POWER.on, vm]);
  },
  powerCommands: (vm) => ({
    off: [...VIRSH, POWER.off, vm].join(' '),
    on: [...VIRSH, POWER.on, vm].join(' '),
  }),
  async setLink(vm, mac, up) {
    await virsh(['domif-setlink', vm, mac, up ? 'up' : 'down']);
  },
  async linkUp(vm, mac) {
    return /\bup\b/.test((await virsh(['domif-getlink', vm, mac], false)).stdout);
  },
  async macs(vm) {
    return [...(await virsh(['domiflist', vm], false)).stdout.matchAll(/([0-9a-f]{2}(?::[0-9a-f]{2}){5})/gi)].map((m) =>
      m[1]!.toLowerCase(),
    );
  },
  async remove(vm) {
    await virsh(['destroy', vm], false);
    await virsh(['undefine', vm, '--remove-all-storage']);
  },
  async sweep(prefix) {
    if (!existsSync('/usr/bin/virsh') || (await virsh(['version'], false)).exitCode !== 0) return [];
    const removed: string[] = [];
    for (const vm of (await this.states(prefix)).keys()) {
      await this.remove(vm).catch(() => {});
      removed.push(`VM ${vm}`);
    }
    for (const pool of (await virsh(['pool-list', '--name'], false)).stdout
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)) {
      for (const line of (await virsh(['vol-list', pool], false)).stdout.split('\n')) {
        const vol = line.trim().split(/\s+/)[0] ?? '';
        if (!vol.startsWith(prefix)) continue;
        await virsh(['vol-delete', vol, '--pool', pool], false);
        removed.push(`disk ${pool}/${vol}`);
      }
    }
    for (const net of (await virsh(['net-list', '--all', '--name'], false)).stdout.split('\n').map((s) => s.trim())) {
      if (!net.startsWith(prefix)) continue;
      await virsh(['net-destroy', net], false);
      await virsh(['net-undefine', net], false);
      removed.push(`network ${net}`);
    }
    return removed;
  },
};

export const hypervisors = { libvirt } as const;

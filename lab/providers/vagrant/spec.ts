// What the Vagrantfile needs, rendered from the lab file as JSON: the Vagrantfile (Ruby) reads
// it, so the lab file stays the one source of truth. One VM per node plus the client, the lab
// switch as one isolated private network with the lab's addresses and MACs; the NAT/management
// NIC that Vagrant adds is for SSH only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { domainOf, switchNic } from '../../hosts.ts';
import { prefix } from '../../names.ts';
import type { Lab } from '../../types.ts';
import { MANAGEMENT_INTERFACE } from '../../types.ts';
import { LIBVIRT_POOL } from './box.ts';

export interface VagrantMachine {
  name: string;
  role: string;
  box: string;
  boxVersion?: string;
  cpus: number;
  memory: number;
  mac: string;
  ipv4: string;
  ipv4Prefix: number;
  ipv6?: string;
  ipv6Prefix?: number;
  /** The management NIC: its MAC gets a fixed DHCP lease (the lab file's management address). */
  mgmtMac: string;
  mgmtIpv4: string;
  /** NICs on further L2 domains' own switches, in order after eth1 (eth2, eth3, …); IPv6 comes from the boot script. */
  nics: { network: string; mac: string; ipv4: string; ipv4Prefix: number }[];
}

export interface VagrantSpec {
  schema: 'l2lab.vagrant/v1';
  lab: string;
  provider: 'libvirt';
  driver: 'kvm' | 'qemu';
  /** The lab switch: a libvirt isolated network. */
  network: string;
  /** Further L2 domains with a switch of their own: one isolated network each (VLAN domains ride the lab switch). */
  domainNetworks: { domain: string; name: string; bridge: string }[];
  /** Vagrant's NAT/management network (SSH only), in the lab's management subnet. */
  management: { name: string; cidr: string };
  /** libvirt storage pool for the VM disks. */
  pool: string;
  /** Seconds Vagrant waits for a booting VM (software emulation is slow). */
  bootTimeout: number;
  machines: VagrantMachine[];
}

/** The libvirt network of a domain with a switch of its own, and its bridge on the host (15 characters at most). */
export function domainNetwork(lab: Lab, domain: string): { domain: string; name: string; bridge: string } {
  const k = lab.domains.filter((d) => d.kind === 'switch').findIndex((d) => d.name === domain);
  return { domain, name: `${prefix(lab.name)}d-${domain}`, bridge: `${prefix(lab.name)}d${k + 1}` };
}

export function vagrantSpec(lab: Lab): VagrantSpec {
  const machines = [...lab.nodes, lab.client].map((h): VagrantMachine => {
    const sw = switchNic(h);
    const mg = h.interfaces.find((i) => i.name === MANAGEMENT_INTERFACE);
    if (!mg) throw new Error(`${h.name} has no management interface; the lab file must name a VM provider (vagrant)`);
    return {
      name: h.name,
      role: h.role,
      box: h.vm?.box ?? lab.vagrant.box,
      ...((h.vm?.boxVersion ?? lab.vagrant.boxVersion)
        ? { boxVersion: h.vm?.boxVersion ?? lab.vagrant.boxVersion }
        : {}),
      cpus: h.vm?.cpus ?? (h.role === 'client' ? 1 : lab.vagrant.cpus),
      memory: h.vm?.memory ?? (h.role === 'client' ? 512 : lab.vagrant.memory),
      mac: sw.mac,
      ipv4: sw.ipv4,
      ipv4Prefix: sw.ipv4Prefix,
      ...(sw.ipv6 ? { ipv6: sw.ipv6, ipv6Prefix: sw.ipv6Prefix } : {}),
      mgmtMac: mg.mac,
      mgmtIpv4: mg.ipv4,
      nics: h.interfaces
        .filter((i) => domainOf(lab, i)?.kind === 'switch')
        .map((i) => ({
          network: domainNetwork(lab, i.domain!).name,
          mac: i.mac,
          ipv4: i.ipv4,
          ipv4Prefix: i.ipv4Prefix,
        })),
    };
  });
  return {
    schema: 'l2lab.vagrant/v1',
    lab: lab.name,
    provider: lab.vagrant.provider,
    driver: lab.vagrant.driver,
    network: `${prefix(lab.name)}switch`,
    domainNetworks: lab.domains.filter((d) => d.kind === 'switch').map((d) => domainNetwork(lab, d.name)),
    management: { name: `${prefix(lab.name)}mgmt`, cidr: lab.management.ipv4 },
    pool: LIBVIRT_POOL,
    bootTimeout: lab.vagrant.driver === 'qemu' ? 900 : 300,
    machines,
  };
}

export function writeVagrantSpec(lab: Lab, file: string): VagrantSpec {
  const spec = vagrantSpec(lab);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(spec, null, 2)}\n`);
  return spec;
}

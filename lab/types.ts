// Resolved lab model (what the code works with) and the status contract (what other parts read).
// The raw lab-file shape lives in labfile.ts; nothing outside lab/ should see it.
import type { LabelSelector, Labels } from './selector.ts';

export type Role = 'control-plane' | 'worker' | 'client';

/** Every machine's NIC on the lab switch, and a node's management NIC (SSH only). */
export const SWITCH_INTERFACE = 'eth1';
export const MANAGEMENT_INTERFACE = 'eth0';

/** Lease timing, as Cilium's l2announcements.leaseDuration / leaseRenewDeadline / leaseRetryPeriod. */
export interface Lease {
  durationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** A fault in force, as faults.json records it: the kind, the node, the kind's own parameters (lab/faults/). */
export interface Fault {
  kind: string;
  node: string;
  [param: string]: string | undefined;
}

export interface HostInterface {
  /** eth0 (management), eth1 (lab switch), eth1.<vlan> (a VLAN domain), eth2… (a domain's own switch). */
  name: string;
  network: 'management' | 'switch' | 'domain';
  /** network 'domain': which one (Lab.domains). */
  domain?: string;
  mac: string;
  ipv4: string; // address without prefix
  ipv4Prefix: number;
  ipv6?: string;
  ipv6Prefix?: number;
  /**
   * A domain NIC that carries fewer addresses than planned (the lab file's nodeAddresses): ipv6
   * (no IPv4 address) or none (link-local only). Absent: every planned address.
   */
  addresses?: 'ipv6' | 'none';
}

export interface LabHost {
  name: string;
  role: Role;
  index: number; // 1-based, stable: derives MACs and default addresses
  labels: Labels;
  interfaces: HostInterface[]; // eth1 always; eth0 (management) for nodes, and for the client of VM labs
  vm?: { box?: string; boxVersion?: string; cpus?: number; memory?: number }; // vagrant provider
}

export interface PoolBlock {
  cidr?: string;
  start?: string;
  stop?: string;
}

/**
 * An L2 domain beside the lab switch's own (untagged) one, with its own subnets, pool and policy:
 * a tagged VLAN on the lab switch (NIC eth1.<vlan>, eth1's MAC), or a switch of its own (NIC
 * eth2, eth3, … in the order of the lab file). The client is on every domain; nodes on those listed.
 */
export interface Domain {
  name: string;
  kind: 'vlan' | 'switch';
  vlan?: number;
  interface: string;
  ipv4: string; // subnets
  ipv6: string;
  nodes: string[];
  /** The label every node on the domain carries (value "true"): the default nodeSelector. */
  label: string;
  pool: Lab['pool'];
  policy: Lab['policy'];
}

/** A machine l2lab did not build, as the hosts provider reaches it (lab/providers/hosts/config.ts). */
export interface HostMachine {
  /** Where SSH reaches it; '' for the machine l2lab runs on (local). */
  ssh: string;
  /** The client is the machine l2lab runs on: its commands run here, not over SSH. */
  local?: boolean;
  port: number;
  user: string;
  /** Its NIC on the L2 domain. */
  nic: string;
  /** The host key to pin; else the known_hosts file's. */
  hostKey?: string;
  /** Shell commands run on this machine ($L2LAB_MACHINE, $L2LAB_ADDRESS name the node). */
  power?: { off: string; on: string };
  /** Shell commands run on the node over SSH ($L2LAB_SERVICE, $L2LAB_SIGNAL); else l2l-service. */
  service?: { stop: string; start: string; signal: string };
}

/** provider: hosts — machines reached over SSH, l2lab's files under `dir` on each. */
export interface HostsSettings {
  dir: string;
  /** A NIC set down by a fault comes back by itself after this long (its undo, armed on the machine). */
  carrierUndoS: number;
  /** How long a node may take to answer SSH after its power-on command. */
  powerOnTimeoutS: number;
  identityFile: string;
  knownHosts: string;
  /** The prober's own addresses on the L2 domain, which no machine uses. */
  prober: { ipv4: string[]; ipv6: string[] };
  machines: Record<string, HostMachine>;
}

export interface Lab {
  name: string;
  file: string; // absolute path of the lab file it came from
  provider: string;
  /**
   * multicastSnooping: the switch forwards multicast only to ports that joined its group (MLD/IGMP
   * snooping, with a querier). dad: the hosts' lab NICs run IPv6 duplicate address detection.
   * ageingTime: seconds a learned MAC is kept without a frame from it (unset: 300); unknownUnicast
   * drop: a frame for a MAC the switch does not know goes nowhere (unset: flooded).
   */
  switch: {
    ipv4: string;
    ipv6: string;
    multicastSnooping?: boolean;
    dad?: boolean;
    ageingTime?: number;
    unknownUnicast?: 'drop';
  };
  management: { ipv4: string; hostAddress: string };
  nodes: LabHost[]; // control planes and workers
  client: LabHost;
  pool: { name: string; blocks: PoolBlock[]; serviceSelector?: LabelSelector };
  policy: {
    name: string;
    interfaces: string[]; // regular expressions, as in CiliumL2AnnouncementPolicy
    nodeSelector?: LabelSelector;
    serviceSelector?: LabelSelector;
    loadBalancerIPs: boolean;
    externalIPs: boolean;
  };
  /** Further L2 domains (VLANs, switches); empty for a one-switch lab. */
  domains: Domain[];
  /** gatewayAPI unset: the cluster path takes the pair from its version table. */
  versions: { kubernetes: string; cilium: string; gatewayAPI?: string };
  /** VM defaults for the vagrant provider. */
  vagrant: {
    box: string;
    boxVersion?: string;
    provider: 'libvirt';
    driver: 'kvm' | 'qemu';
    cpus: number;
    memory: number;
    nat: boolean;
  };
  lease: Lease;
  /** provider: hosts only. */
  hosts?: HostsSettings;
  /** Where kubectl runs and what it reads; absent in a lab saved before it existed (the defaults then). */
  kubernetes?: KubernetesSettings;
}

export interface KubernetesSettings {
  /** 'control-plane' (the lab's first), a node's name, or 'local' (this machine). */
  on: string;
  /** A path on that machine. */
  kubeconfig: string;
  gateway: { namespace: string; name: string };
}

/** One interface as seen live on the host (status). */
export interface InterfaceStatus extends HostInterface {
  up: boolean; // administratively up and carrier present
}

export interface HostStatus {
  name: string;
  role: Role;
  labels: Labels;
  namespace: string; // network namespace name on the host (ip netns); '' for VMs
  domain?: string; // the VM's name in its hypervisor (vagrant provider)
  powered: boolean; // node init process running
  interfaces: InterfaceStatus[];
  sshd: boolean; // nodes only; false for the client
  ssh?: { host: string; port: number; user: string; hostKey: string };
}

/**
 * `lab:status --json`: the contract that inventory and conformance read.
 * Versioned by `schema`; fields are only ever added within one version.
 */
export interface LabStatus {
  schema: 'l2lab.status/v1';
  lab: string;
  provider: string;
  file: string;
  state: 'up' | 'degraded' | 'down';
  switch: { ipv4: string; ipv6: string; namespace?: string; bridge?: string; network?: string };
  management: { ipv4: string; hostAddress: string; bridge?: string; network?: string };
  ssh: { user: string; identityFile: string; knownHostsFile: string };
  nodes: HostStatus[];
  client: HostStatus;
  pool: Lab['pool'];
  policy: Lab['policy'];
  /** Added in v1: further L2 domains, each with its pool and policy. */
  domains: Lab['domains'];
  lease: Lab['lease'];
  versions: Lab['versions'];
  /** Faults injected and not undone yet; lab:up leaves what they affect alone. */
  faults: Fault[];
}

// A provider builds and runs a lab's machines. Small verb-based interface (as kind's
// providers): `converge` inside the shared lifecycle (lab/lifecycle.ts owns the state directory,
// keys, lab.json, validation and rollback), `remove` by name only (works after a crash), `status`
// as the contract, `exec` for host-side work, and the primitives faults are made of (power,
// carrier, hostTime: lab/faults/ holds the fault kinds, providers know none).
import type { ExecResult, Primitives } from './faults/fault.ts';
import type { LabPaths } from './names.ts';
import type { Fault, Lab, LabStatus } from './types.ts';

export type { ExecResult };

/** What a provider's machines are like; code asks these, never a provider's name. */
export interface Capabilities {
  /** Lab machines see the host's files (paths of the checkout and of reports are the same). */
  sharedFilesystem: boolean;
  /** l2lab's checkout (its runtime) is at the same path on the machines as on this host. */
  checkoutOnMachines: boolean;
  /** Machines run this host's packages: apt runs once, for the host. */
  sharedPackages: boolean;
  /** Every machine has a kernel of its own (modules, sysctls, kubelet): a Kubernetes cluster can run. */
  ownKernel: boolean;
  /** The client has a management NIC too (SSH to it, a VM's NAT or host-only NIC). */
  clientManagement: boolean;
  /**
   * l2lab built the machines: it names their NICs (eth0, eth1), gives their MACs and addresses and
   * makes their host keys. Machines it did not build have their own, observed at lab:up.
   */
  builtByL2lab: boolean;
}

export interface Progress {
  step(message: string): void;
  info(message: string): void;
}

export interface UpResult {
  changes: string[];
  elapsedMs: number;
}
export interface DownResult {
  removed: string[];
  elapsedMs: number;
}

/** What the lifecycle hands a provider's converge. */
export interface ConvergeContext {
  paths: LabPaths;
  progress: Progress;
  /** Makes one change, named: a progress line, the recap's list; a failure names the step. */
  apply(what: string, fn: () => Promise<unknown>): Promise<void>;
  /** Faults in force: lab:up leaves them alone (a machine powered off stays off, a pulled cable out). */
  faults: Fault[];
}

export interface Provider extends Primitives {
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Before anything of the lab is made: the tools it needs, its base images. Throws what to install. */
  preflight?(lab: Lab, progress: Progress): Promise<void>;
  /** Converges machines and links to the lab file: creates what is missing, repairs what differs. Idempotent. */
  converge(lab: Lab, ctx: ConvergeContext): Promise<void>;
  /** Removes every machine and link of the lab named, also what a crashed or half-built run left; returns what went. */
  remove(labName: string, ctx: { paths: LabPaths; progress: Progress }): Promise<string[]>;
  /** With probe: false, from the lab's state only (no link or sshd probes): fast, for inventories. */
  status(lab: Lab, opts?: { probe?: boolean }): Promise<LabStatus>;
  /** Runs argv on a lab machine (nodes and client) as root, without SSH. */
  exec(lab: Lab, host: string, argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  // power, carrier and hostTime (Primitives) are what faults (lab/faults/) are made of.
  /** Copies a file from a lab machine to the host; needed where sharedFilesystem is false. */
  copyFrom?(lab: Lab, host: string, remote: string, local: string): Promise<void>;
  /**
   * Where a machine keeps its own clock (VMs): that clock minus this machine's, in ms, with the
   * uncertainty of the estimate. Captures on the client carry the client's time; faults are timed here.
   */
  clockOffset?(lab: Lab, host: string): Promise<{ offsetMs: number; uncertaintyMs: number }>;
  /** Processing time a failover budget allows beyond the lease protocol's bound (default 500 ms). */
  timingSlackMs?(lab: Lab): number;
  /** How often the prober asks by default (default 20 ms): each request costs every announcer some CPU. */
  probeIntervalMs?(lab: Lab): number;
  /**
   * Where l2lab's programs and scratch files are on a lab machine: Node, the checkout (its runtime)
   * and a directory for temporary files. Default: `node`, this checkout's path, /tmp.
   */
  machinePaths?(lab: Lab): { node: string; root: string; tmp: string };
  /**
   * Shell commands that power a machine of this lab off and on from this host ($L2LAB_MACHINE
   * names it), as a BMC would: what `lab status --as-hosts` writes into a hosts file.
   */
  powerCommands?(lab: Lab): { off: string; on: string };
  /** Closes connections the provider keeps (SSH to VMs). */
  close?(): Promise<void>;
}

export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    readonly step: string,
    cause: unknown,
  ) {
    super(`${provider}: ${step}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ProviderError';
  }
}

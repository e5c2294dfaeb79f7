// A provider builds and runs a lab's machines. Small verb-based interface (as kind's
// providers): plan/apply inside `up`, `down` by name only (works after a crash), `status`
// as the contract, `exec` for host-side work, and faults for the conformance suite.
import type { Lab, LabStatus } from './types.ts';

/** Faults a provider can inject on a node. Each has an exact undo (see undoOf). */
export type Fault =
  | { kind: 'power-off'; node: string }
  | { kind: 'link-down'; node: string; iface: string }
  | { kind: 'process-stop'; node: string; process: string; signal?: 'TERM' | 'KILL' }
  | { kind: 'pause'; node: string; process: string };

export type FaultKind = Fault['kind'];
export const faultKinds: FaultKind[] = ['power-off', 'link-down', 'process-stop', 'pause'];

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'power-off': return `power off ${f.node}`;
    case 'link-down': return `cable of ${f.node} ${f.iface} pulled (link down)`;
    case 'process-stop': return `stop ${f.process} (${f.signal ?? 'TERM'}) on ${f.node}`;
    case 'pause': return `pause ${f.process} (SIGSTOP) on ${f.node}`;
  }
}

export interface Capabilities {
  faults: FaultKind[];
  ipv6: boolean;
  /** Node-private /etc, state and logs (the netns provider emulates what VMs have). */
  privateFilesystems: boolean;
  /** Lab machines see the host's files (paths of the checkout and of reports are the same). */
  sharedFilesystem: boolean;
  /** Seconds, for progress messages and timeouts. */
  typicalUpSeconds: number;
}

export interface Progress {
  step(message: string): void;
  info(message: string): void;
}

export interface UpResult { changes: string[]; elapsedMs: number }
export interface DownResult { removed: string[]; elapsedMs: number }
export interface ExecResult { stdout: string; stderr: string; exitCode: number }
/** When the fault took effect, on this machine's clock (ms since the epoch). */
export interface InjectResult { effectiveAtMs?: number }

/** l2l-service prints "effective-at <ns>" as it sends a signal. */
export function effectiveAt(stdout: string): number | undefined {
  const m = /^effective-at (\d+)$/m.exec(stdout);
  return m ? Number(BigInt(m[1]!) / 1000n) / 1000 : undefined;
}

export interface Provider {
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Converges the lab to the lab file: creates what is missing, repairs what differs. Idempotent. */
  up(lab: Lab, progress: Progress): Promise<UpResult>;
  /** Removes everything of the lab named, also what a crashed or half-built run left. */
  down(labName: string, progress: Progress): Promise<DownResult>;
  /** With probe: false, from the lab's state only (no link or sshd probes): fast, for inventories. */
  status(lab: Lab, opts?: { probe?: boolean }): Promise<LabStatus>;
  /** Runs argv on a lab machine (nodes and client) as root, without SSH. */
  exec(lab: Lab, host: string, argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** Injects the fault; where the provider knows when it took effect (a signal sent), says so. */
  inject(lab: Lab, fault: Fault): Promise<InjectResult | void>;
  undo(lab: Lab, fault: Fault): Promise<void>;
  /** Copies a file from a lab machine to the host; needed where sharedFilesystem is false. */
  copyFrom?(lab: Lab, host: string, remote: string, local: string): Promise<void>;
  /**
   * Where a machine keeps its own clock (VMs): that clock minus this machine's, in ms, with the
   * uncertainty of the estimate. Captures on the client carry the client's time; faults are timed here.
   */
  clockOffset?(lab: Lab, host: string): Promise<{ offsetMs: number; uncertaintyMs: number }>;
  /** Processing time a failover budget allows beyond the lease protocol's bound (default 500 ms). */
  timingSlackMs?(lab: Lab): number;
  /** Closes connections the provider keeps (SSH to VMs). */
  close?(): Promise<void>;
}

export class ProviderError extends Error {
  constructor(readonly provider: string, readonly step: string, cause: unknown) {
    super(`${provider}: ${step}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ProviderError';
  }
}

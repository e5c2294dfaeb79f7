// A fault is a plug-in: one file per kind, behind this interface, listed once in index.ts.
// It says what it does, which words lab:fault takes after the node, how a failover budget
// follows from a lease, and how to inject and undo it with a provider's small primitives
// (power, carrier, exec). Providers know nothing about fault kinds.
import type { z } from 'zod';
import type { Fault, Lab, Lease } from '../types.ts';

export type { Fault };

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * What a fault may do to a lab machine: the provider primitives. Power and carrier are optional
 * (machines l2lab did not build may have neither): a fault declares those it needs, and one whose
 * primitive the provider lacks is refused before it starts (lab:fault) or skipped (the suite).
 */
export interface Primitives {
  /** Power cut (off) or boot (on; returns once the machine is reachable again). */
  power?(lab: Lab, host: string, on: boolean): Promise<void>;
  /**
   * Whether the machine has power now, as its hypervisor says (not whether it answers): a BMC's
   * PowerState, and what tells a machine that is off from one still booting.
   */
  powered?(lab: Lab, host: string): Promise<boolean>;
  /**
   * Returns once a machine that has power has booted (its enabled services started, reachable as
   * lab:up leaves it): at once on one that has. power(on) ends with it; nothing else is touched.
   */
  booted?(lab: Lab, host: string): Promise<void>;
  /**
   * The cable of one NIC: unplugged (the machine sees no carrier) or plugged back. May return the
   * moment it went (this machine's clock) where work comes first (an undo armed over SSH).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a provider that knows no better moment returns nothing
  carrier?(lab: Lab, host: string, iface: string, up: boolean): Promise<number | undefined | void>;
  /**
   * A NIC of a further L2 domain taken out of the machine (hot-unplugged: the interface no longer
   * exists) or put back (hot-plugged and configured as lab:up configures it: MAC, addresses, up).
   */
  nic?(lab: Lab, host: string, iface: string, present: boolean): Promise<void>;
  exec(lab: Lab, host: string, argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<ExecResult>;
  /** A moment on a machine's own clock (ms since the epoch) on this machine's clock; absent where they share one. */
  hostTime?(lab: Lab, host: string, ms: number): Promise<number>;
  /**
   * A node service stopped (`stop NAME SIGNAL`), started (`start NAME`) or signalled (`signal NAME
   * SIGNAL`): absent, through l2l-service on the machine (what l2lab sets up); machines l2lab did
   * not build use the commands their lab file declares.
   */
  service?(lab: Lab, host: string, args: string[]): Promise<ExecResult>;
  /** Primitives the provider has but this lab cannot use (machines whose power commands nobody declared). */
  lacks?(lab: Lab): Primitive[];
}

/** What a fault in force keeps as it is: lab:up must not "repair" it. */
export interface Held {
  powerOff?: boolean;
  unplugged?: string[];
  /** NICs taken out of the machine (lab:up does not put them back). */
  absent?: string[];
  stopped?: string[]; // services
}

export type { Lease };

/**
 * A candidate's retry period with client-go's jitter: × [1, 2.2) (leaderelection's JitterFactor 1.2
 * through wait.Jitter, which adds up to factor × period).
 */
const jitteredRetry = (lease: Lease) => lease.retryPeriodMs * 2.2;

/**
 * The holder is gone without a word: a candidate times the lease from when it *saw* the last
 * renewal (up to one retry after it was written) and notices the expiry at its next retry,
 * as client-go (so Cilium) does: leaseDuration + 2 jittered retries, plus processing slack.
 */
export const afterLeaseExpiry = (lease: Lease, slackMs: number) =>
  Math.round(lease.durationMs + 2 * jitteredRetry(lease) + slackMs);
/** The holder lets go (a graceful release, a lost link it notices): the next retry takes over. */
export const atNextRetry = (lease: Lease, slackMs: number) => Math.round(jitteredRetry(lease) + slackMs);

/** The optional primitives a fault can need (exec every provider has). */
export type Primitive = 'power' | 'carrier' | 'nic';

/** Whether a lab's provider can use a primitive here. */
export const hasPrimitive = (io: Primitives, lab: Lab, p: Primitive): boolean =>
  !!io[p] && !io.lacks?.(lab).includes(p);

/** A fault needs a primitive the provider lacks: not a harness error — the fault cannot be done here. */
export class MissingPrimitive extends Error {
  constructor(
    readonly kind: string,
    readonly primitive: Primitive,
  ) {
    super(`fault ${kind} needs the provider primitive "${primitive}", which this lab's provider does not have`);
    this.name = 'MissingPrimitive';
  }
}

/** The primitive, or MissingPrimitive naming the fault that needs it. */
export function primitive<K extends Primitive>(io: Primitives, k: K, kind: string): NonNullable<Primitives[K]> {
  const f = io[k];
  if (!f) throw new MissingPrimitive(kind, k);
  return f.bind(io) as NonNullable<Primitives[K]>;
}

export interface FaultPlugin<P extends Record<string, string | undefined> = Record<string, string | undefined>> {
  kind: string;
  description: string;
  /** The optional provider primitives it uses (power, carrier, nic). */
  primitives: Primitive[];
  /** Words lab:fault takes after NODE, in order (e.g. the interface); each is a parameter. */
  args: { name: keyof P & string; help: string; example?: string }[];
  /** Parameters lab:fault takes as --NAME VALUE; they do not tell two faults in force apart. */
  options?: { name: keyof P & string; help: string }[];
  /** The parameters, validated wherever a fault comes in (command line, faults.json, a check). */
  params: z.ZodType<P>;
  describe(node: string, p: P): string;
  /** Failover budget of a lease-based subject. */
  budget(lease: Lease, slackMs: number): number;
  /**
   * As a failover trial on the subject's holder: the parameters, the subject features it needs
   * (else the trial is skipped), and whether healing waits until the subject is ready again.
   */
  trial?: { params(service: string, lab: Lab, node: string): P; needs?: string[]; waitReady?: boolean };
  /**
   * What it keeps as it is while in force. A node fault holds its node; a switch fault
   * (`scope: 'switch'`, NODE is then the switch's name, or an L2 domain's) holds every machine on that switch.
   */
  held(p: P, node: string, lab?: Lab): Held;
  scope?: 'node' | 'switch';
  /** Returns when the fault took effect on this machine's clock (ms), where that is known. */
  inject(io: Primitives, lab: Lab, node: string, p: P): Promise<number | undefined>;
  undo(io: Primitives, lab: Lab, node: string, p: P): Promise<void>;
}

/** Keeps a plug-in's parameter type while the registry holds them all. */
export const defineFault = <P extends Record<string, string | undefined>>(f: FaultPlugin<P>): FaultPlugin =>
  f as unknown as FaultPlugin;

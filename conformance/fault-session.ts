// Faults during a run: every fault injected is remembered until undone, so that a failed check,
// an error or Ctrl-C leaves the lab as it was.
import { faultPlugin, injectFault, needPrimitives, undoFault } from '../lab/faults/index.ts';
import { managementAddress } from '../lab/hosts.ts';
import type { Provider } from '../lab/provider.ts';
import { matches } from '../lab/selector.ts';
import type { Fault, Lab } from '../lab/types.ts';
import { render } from '../playbooks/expr.ts';
import { SubjectFailure } from './errors.ts';
import type { Subject } from './subject.ts';

export class InterruptedError extends Error {
  constructor() {
    super('interrupted: no more faults');
  }
}

export class FaultSession {
  readonly active: Fault[] = [];
  private interrupted = false;
  private inflight?: Promise<unknown>;
  private undoing?: Promise<void>;
  /** An undo still running while the run goes on (undoInBackground). */
  private pendingUndo?: Promise<void>;
  private saidNoReady = false;

  constructor(
    readonly lab: Lab,
    readonly provider: Provider,
    readonly subject: Subject,
    readonly progress: (m: string) => void,
  ) {}

  /** Injects; returns when it took effect on this machine's clock (ms), where the provider knows. */
  async inject(f: Fault): Promise<number | undefined> {
    if (this.interrupted) throw new InterruptedError();
    await this.undone(); // the lab is back from the last fault before the next one
    if (this.interrupted) throw new InterruptedError();
    // A primitive this lab lacks: nothing was done, nothing to undo (the check is skipped).
    needPrimitives(this.provider, f.kind, this.lab);
    this.active.push(f); // before the call: undoAll undoes it even while the call runs
    const call = injectFault(this.provider, this.lab, f);
    this.inflight = call.catch(() => undefined);
    return call;
  }

  /** Ctrl-C: no fault starts from now on; undoAll then puts back what is in force. */
  interrupt(): void {
    this.interrupted = true;
  }
  get isInterrupted(): boolean {
    return this.interrupted;
  }

  async undo(f: Fault): Promise<void> {
    await undoFault(this.provider, this.lab, f);
    const i = this.active.indexOf(f);
    if (i >= 0) this.active.splice(i, 1);
    // A subject that sits out a while after this heal (declared, with its source): the next trial
    // would time that instead of a failover.
    const recoveryS = this.subject.recovery[f.kind];
    if (recoveryS) {
      this.progress(`${this.subject.name} recovers ${recoveryS} s after ${f.kind} is healed (its recovery:); waiting`);
      await new Promise((r) => setTimeout(r, recoveryS * 1000));
    }
    // heal → returns: a node that was powered off or lost its announcer is back only when the
    // subject says it is ready there (minutes on emulated VMs), not when its process started.
    const waitReady = faultPlugin(f.kind).trial?.waitReady;
    if (waitReady) {
      if (!this.subject.ready && !this.saidNoReady) {
        this.saidNoReady = true;
        this.progress(
          `${this.subject.name} has no ready command: the next fault may come while it still starts on ${f.node}` +
            ' (the takeover then includes that start)',
        );
      }
      await this.waitReady(f.node);
    }
    // Any node may have been restarted meanwhile, whatever the fault: a subject that fences (Pacemaker
    // with stonith) reboots the node it lost, the faulted one or, after a split, the other. The
    // next trial starts when the subject is ready on each of its nodes (a fault 3 s after a fenced
    // node's reboot found it not yet joined: nobody fenced, nobody took over).
    for (const n of this.subjectNodes()) if (n !== f.node || !waitReady) await this.waitReady(n);
  }

  /** The nodes the subject runs on. */
  private subjectNodes(): string[] {
    return this.lab.nodes
      .filter((n) => this.subject.runOn === 'all' || matches(this.lab.policy.nodeSelector, n.labels))
      .map((n) => n.name);
  }

  /**
   * Undoes f while the caller goes on (the next trial's prober starts and takes its baseline as
   * the node boots): the next injection, and whatever else acts on the lab, waits for it (undone).
   */
  undoInBackground(f: Fault): void {
    if (!this.active.includes(f)) return;
    const p = this.undo(f);
    p.catch(() => undefined); // its failure surfaces where it is awaited
    this.pendingUndo = p;
  }

  /** Whether an undo is still running in the background. */
  get isUndoing(): boolean {
    return this.pendingUndo !== undefined;
  }

  /** Waits for an undo running in the background; its failure is thrown here. */
  async undone(): Promise<void> {
    const p = this.pendingUndo;
    if (!p) return;
    try {
      await p;
    } finally {
      if (this.pendingUndo === p) this.pendingUndo = undefined;
    }
  }

  /** Undoes f if it is still in force (a trial's finally). */
  async undoIfActive(f: Fault): Promise<void> {
    if (this.active.includes(f)) await this.undo(f);
  }

  async waitReady(node: string): Promise<void> {
    const h = this.lab.nodes.find((n) => n.name === node);
    if (!h || !this.subject.ready) return;
    const cmd = String(render(this.subject.ready.command, { node, management_ipv4: managementAddress(this.lab, h) }));
    const end = Date.now() + this.subject.ready.timeoutS * 1000;
    for (;;) {
      const r = await this.provider.exec(this.lab, node, ['sh', '-c', cmd]).catch(() => undefined);
      if (r?.exitCode === 0) return;
      if (Date.now() > end)
        throw new SubjectFailure(
          `${this.subject.name} not ready on ${node} within ${this.subject.ready.timeoutS} s (ready command: ${cmd})`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Undoes every fault still in force (a failed check, Ctrl-C): the lab is left as it was. One at a time. */
  undoAll(): Promise<void> {
    this.undoing ??= (async () => {
      await this.inflight; // an injection still running would otherwise land after its undo
      await this.undone().catch((e: Error) => this.progress(`could not undo a fault: ${e.message}`));
      for (const f of [...this.active].reverse()) {
        try {
          await this.undo(f);
        } catch (e) {
          this.progress(`could not undo ${f.kind} on ${f.node}: ${(e as Error).message}`);
        }
      }
    })().finally(() => {
      this.undoing = undefined;
    });
    return this.undoing;
  }
}

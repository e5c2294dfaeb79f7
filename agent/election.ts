// Leader election on one lease, with client-go's semantics (what Cilium's L2 announcements use):
//
// - A candidate reads the lease every retryPeriod × [1, 2.2) (client-go's acquire: wait.JitterUntil
//   with JitterFactor 1.2, and wait.Jitter adds up to factor × period). A lease held by another node counts as
//   valid until leaseDuration has passed since this candidate last *saw the record change*
//   (its own clock; the holder's timestamps are never compared across machines). Then, or
//   when the lease is free (no holder), the candidate writes itself in with compare-and-swap.
// - The holder renews every retryPeriod: one write on the version it wrote last (client-go's fast
//   path), a read and a write only when that fails. If no renewal has succeeded for renewDeadline,
//   counted from the *start* of the last successful attempt, it stops leading at once —
//   a timer enforces this even while a store call hangs (partition).
// - Because renewDeadline < leaseDuration, the old holder has stopped before any candidate
//   can consider the lease expired: never two holders, also when the holder loses only the
//   store and not the switch. The margin is leaseDuration − renewDeadline (minus the store's
//   round trip).
// - Releasing (graceful stop, or the announcing link went down) stops leading first, then
//   writes an empty holder, so candidates take over on their next retry.
import { performance } from 'node:perf_hooks';
import type { LeaseRecord, LeaseStore, Versioned } from './store.ts';

export interface ElectionTiming {
  durationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface ElectionEvents {
  startedLeading(): void;
  stoppedLeading(reason: string): void;
  renewed?(latencyMs: number): void;
  error?(e: Error): void;
}

// Candidates wait retryPeriod × (1 + [0, 1) × JITTER): client-go's leaderelection JitterFactor, used
// by wait.JitterUntil → wait.Jitter(d, f) = d + rand × f × d (k8s.io/apimachinery/pkg/util/wait).
const JITTER = 1.2;

export class LeaseElector {
  private leading = false;
  /** The store's record may still name us: we won it, and have not seen it name another since. */
  private mayHold = false;
  private running = false;
  private busy = false;
  private observed?: Versioned<LeaseRecord>;
  private observedAt = 0;
  private lastRenewStart = 0;
  private tick?: NodeJS.Timeout;
  private deadline?: NodeJS.Timeout;
  private inflight?: Promise<void>; // the store call of the current attempt, which release waits for

  constructor(
    private readonly store: LeaseStore,
    readonly name: string,
    private readonly identity: string,
    private readonly timing: ElectionTiming,
    private readonly events: ElectionEvents,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }
  /** Leading and within renewDeadline of the last successful renewal's start, by the clock now. */
  holdsNow(): boolean {
    return this.leading && this.now() < this.lastRenewStart + this.timing.renewDeadlineMs;
  }
  get holder(): string | undefined {
    return this.observed?.value.holderIdentity || undefined;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops campaigning; keeps the lease record as it is (a crash looks the same to others). */
  stop(): void {
    this.running = false;
    clearTimeout(this.tick);
    clearTimeout(this.deadline);
    if (this.leading) this.stepDown('stopped');
  }

  /**
   * Stops leading at once, then frees the lease so another node takes over without waiting. The
   * store gets as long as a renewal would (renewDeadline): on a loaded or emulated machine a fixed
   * second was not always enough, and a failed release costs the others a whole leaseDuration.
   */
  async release(timeoutMs = this.timing.renewDeadlineMs): Promise<void> {
    // Also a holder that stepped down past its renew deadline (a starved CPU, a slow store) frees
    // the record that still names it, as client-go's release does: others need not wait it out.
    const mayHold = this.leading || this.mayHold;
    this.stop();
    if (!mayHold) return;
    const until = this.now() + timeoutMs;
    const left = () => Math.max(1, until - this.now());
    try {
      // A renewal already in flight may land after our read and win the compare-and-swap,
      // leaving the lease held for a whole leaseDuration: wait for it, and retry a lost swap.
      await this.inflight;
      while (this.now() < until) {
        const cur = await this.store.getLease(this.name, left());
        if (!cur || cur.value.holderIdentity !== this.identity) {
          this.mayHold = false;
          return;
        }
        const freed = { ...cur.value, holderIdentity: '', leaseDurationMs: 1, renewTime: Date.now() };
        if (await this.store.updateLease(this.name, freed, cur.version, left())) {
          this.mayHold = false;
          return;
        }
      }
      throw new Error(`could not free lease ${this.name} within ${timeoutMs} ms`);
    } catch (e) {
      this.events.error?.(e as Error); // others take over after leaseDuration instead
    }
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    clearTimeout(this.tick);
    this.tick = setTimeout(() => void this.attempt(), ms);
  }

  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.deadline);
    this.events.stoppedLeading(reason);
  }

  private armDeadline(): void {
    clearTimeout(this.deadline);
    const left = this.lastRenewStart + this.timing.renewDeadlineMs - this.now();
    this.deadline = setTimeout(
      () => this.stepDown(`no successful renewal for ${this.timing.renewDeadlineMs} ms (renewDeadline)`),
      Math.max(0, left),
    );
  }

  private attempt(): Promise<void> {
    if (!this.running || this.busy) return Promise.resolve();
    this.inflight = this.attemptOnce();
    return this.inflight;
  }

  private async attemptOnce(): Promise<void> {
    this.busy = true;
    const started = this.now();
    // A holder's call may only use what is left of its renew deadline; a candidate's, one retry period.
    const budget = this.leading
      ? Math.max(1, this.lastRenewStart + this.timing.renewDeadlineMs - started)
      : this.timing.retryPeriodMs;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew(budget);
    } catch (e) {
      this.events.error?.(e as Error);
    }
    this.busy = false;
    if (!this.running) return;
    if (ok) {
      this.mayHold = true;
      this.lastRenewStart = started;
      if (!this.leading) {
        this.leading = true;
        this.armDeadline();
        this.events.startedLeading();
      } else {
        this.armDeadline();
        this.events.renewed?.(this.now() - started);
      }
    }
    const wait = this.leading ? this.timing.retryPeriodMs : this.timing.retryPeriodMs * (1 + Math.random() * JITTER);
    this.schedule(Math.max(0, wait - (this.now() - started)));
  }

  /** What we wrote is what we last saw (client-go's setObservedRecord): observed now, at its new version. */
  private wrote(value: LeaseRecord, version: string): void {
    this.observed = { value, version };
    this.observedAt = this.now();
  }

  private async tryAcquireOrRenew(budgetMs: number): Promise<boolean> {
    const t0 = this.now();
    const left = () => Math.max(1, budgetMs - (this.now() - t0));
    const wall = Date.now();
    const fresh: LeaseRecord = {
      holderIdentity: this.identity,
      leaseDurationMs: this.timing.durationMs,
      acquireTime: wall,
      renewTime: wall,
      leaseTransitions: 0,
    };
    // The holder's fast path: write on the version it wrote last, while that is still valid.
    const seenMine = this.observed;
    if (this.leading && seenMine && t0 < this.observedAt + seenMine.value.leaseDurationMs) {
      const next = {
        ...fresh,
        acquireTime: seenMine.value.acquireTime,
        leaseTransitions: seenMine.value.leaseTransitions,
      };
      const v = await this.store.updateLease(this.name, next, seenMine.version, left());
      if (v) {
        this.wrote(next, v);
        return true;
      }
    }
    const cur = await this.store.getLease(this.name, left());
    if (!cur) {
      const created = await this.store.createLease(this.name, fresh, left());
      if (created) this.wrote(fresh, created);
      else this.observed = undefined;
      return !!created;
    }
    const seen = this.now();
    if (!this.observed || this.observed.version !== cur.version) {
      this.observed = cur;
      this.observedAt = seen;
    }
    const holder = cur.value.holderIdentity;
    if (holder !== this.identity) this.mayHold = false;
    if (holder && holder !== this.identity && seen < this.observedAt + cur.value.leaseDurationMs) return false; // held, not expired
    const mine = holder === this.identity; // also our own record from before a restart: renewed like any other
    const next: LeaseRecord = {
      ...fresh,
      acquireTime: mine ? cur.value.acquireTime : wall,
      leaseTransitions: mine ? cur.value.leaseTransitions : cur.value.leaseTransitions + 1,
    };
    const v = await this.store.updateLease(this.name, next, cur.version, left());
    if (v) this.wrote(next, v);
    return !!v;
  }
}

// The lease client's rate limit, as Cilium's kube client has one (k8sClientRateLimit: qps and
// burst, 10 and 20 unless sized — the chart's values.yaml): a token bucket, each lease call taking
// one token, waiting for it as client-go's token-bucket limiter does (a reservation that may drive
// the bucket below zero, so later callers wait longer), failing at once when the token would come
// after the call's deadline (as a context deadline ends client-go's Wait). A renewal that waits too
// long misses its renew deadline: the lease is lost (Cilium #26586, #30841).
import { performance } from 'node:perf_hooks';
import type { Allocation } from './ipam.ts';
import type { LeaseRecord, LeaseStore, Versioned } from './store.ts';

export class Throttled extends Error {}

export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  /** Time spent waiting for tokens (ms), for metrics. */
  waitedMs = 0;

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** How long the caller must wait for its token (ms; 0: at once); the token is reserved. Throttled past the deadline. */
  reserve(deadlineMs: number): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.qps) / 1000);
    this.last = t;
    const waitMs = this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.qps;
    if (waitMs > deadlineMs)
      throw new Throttled(
        `client-side throttling: the next call may go in ${Math.round(waitMs)} ms, past its ${Math.round(deadlineMs)} ms deadline`,
      );
    this.tokens -= 1;
    this.waitedMs += waitMs;
    return waitMs;
  }
}

/** A lease store whose calls each wait for a token of the bucket, within their own deadline. */
export class RateLimitedStore implements LeaseStore {
  constructor(
    private readonly inner: LeaseStore,
    readonly bucket: TokenBucket,
  ) {}

  private async gate<T>(timeoutMs: number, call: (left: number) => Promise<T>): Promise<T> {
    const wait = this.bucket.reserve(timeoutMs);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    return call(Math.max(1, timeoutMs - wait));
  }

  getLease(name: string, timeoutMs: number): Promise<Versioned<LeaseRecord> | undefined> {
    return this.gate(timeoutMs, (t) => this.inner.getLease(name, t));
  }
  createLease(name: string, rec: LeaseRecord, timeoutMs: number): Promise<string | undefined> {
    return this.gate(timeoutMs, (t) => this.inner.createLease(name, rec, t));
  }
  updateLease(name: string, rec: LeaseRecord, version: string, timeoutMs: number): Promise<string | undefined> {
    return this.gate(timeoutMs, (t) => this.inner.updateLease(name, rec, version, t));
  }
  allocations(timeoutMs: number): Promise<Record<string, Allocation>> {
    return this.gate(timeoutMs, (t) => this.inner.allocations(t));
  }
  recordAllocation(key: string, a: Allocation, timeoutMs: number, replacing?: Allocation): Promise<Allocation> {
    return this.gate(timeoutMs, (t) => this.inner.recordAllocation(key, a, t, replacing));
  }
  releaseAllocation(key: string, a: Allocation, timeoutMs: number): Promise<void> {
    return this.gate(timeoutMs, (t) => this.inner.releaseAllocation(key, a, t));
  }
  close(): void {
    this.inner.close();
  }
}

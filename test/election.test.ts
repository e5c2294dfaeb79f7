// Lease election against a real etcd: one leader; crash → takeover after the lease expires;
// release → takeover at the next retry; a holder cut off from the store steps down before
// anyone else can start.
import test from 'ava';
import { performance } from 'node:perf_hooks';
import { LeaseElector, type ElectionTiming } from '../agent/election.ts';
import { EtcdStore, type LeaseStore } from '../agent/store.ts';
import { startEtcd } from './etcd-helper.ts';

const timing: ElectionTiming = { durationMs: 600, renewDeadlineMs: 300, retryPeriodMs: 100 };
let etcd: Awaited<ReturnType<typeof startEtcd>>;
test.before(async () => { etcd = await startEtcd(); });
test.after.always(() => etcd?.stop());

/** A real store whose calls can be made to hang until their deadline, as in a network partition. */
class Cuttable implements LeaseStore {
  cut = false;
  constructor(private readonly inner: LeaseStore) {}
  private gate<T>(timeoutMs: number, call: () => Promise<T>): Promise<T> {
    if (!this.cut) return call();
    return new Promise((_, reject) => setTimeout(() => reject(new Error('deadline exceeded (partitioned)')), timeoutMs));
  }
  getLease(n: string, t: number) { return this.gate(t, () => this.inner.getLease(n, t)); }
  createLease(n: string, r: any, t: number) { return this.gate(t, () => this.inner.createLease(n, r, t)); }
  updateLease(n: string, r: any, v: string, t: number) { return this.gate(t, () => this.inner.updateLease(n, r, v, t)); }
  allocations(t: number) { return this.gate(t, () => this.inner.allocations(t)); }
  recordAllocation(k: string, a: any, t: number) { return this.gate(t, () => this.inner.recordAllocation(k, a, t)); }
  close() { this.inner.close(); }
}

function candidate(store: LeaseStore, lease: string, id: string, log: { id: string; ev: 'start' | 'stop'; t: number }[]) {
  return new LeaseElector(store, lease, id, timing, {
    startedLeading: () => log.push({ id, ev: 'start', t: performance.now() }),
    stoppedLeading: () => log.push({ id, ev: 'stop', t: performance.now() }),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leaders = (els: LeaseElector[]) => els.filter((e) => e.isLeader).length;

test.serial('exactly one of three candidates leads, and keeps leading', async (t) => {
  const log: any[] = [];
  const els = ['a', 'b', 'c'].map((id) => candidate(new EtcdStore([etcd.url]), 'one', id, log));
  els.forEach((e) => e.start());
  await sleep(400);
  t.is(leaders(els), 1);
  for (let i = 0; i < 10; i++) { await sleep(100); t.is(leaders(els), 1); }
  t.is(log.filter((x) => x.ev === 'start').length, 1, 'no flapping');
  els.forEach((e) => e.stop());
});

test.serial('the holder crashes: another takes over once the lease has expired, not before', async (t) => {
  const log: any[] = [];
  const a = candidate(new EtcdStore([etcd.url]), 'crash', 'a', log);
  a.start();
  await sleep(250);
  t.true(a.isLeader);
  const b = candidate(new EtcdStore([etcd.url]), 'crash', 'b', log);
  b.start();
  await sleep(300);
  const crashed = performance.now();
  a.stop(); // the record stays: to others this is a dead holder
  while (!b.isLeader && performance.now() - crashed < 3000) await sleep(10);
  const took = performance.now() - crashed;
  t.true(b.isLeader);
  t.true(took >= timing.durationMs - timing.retryPeriodMs * 1.2 - 50, `not before expiry (${took.toFixed(0)} ms)`);
  t.true(took <= timing.durationMs + timing.retryPeriodMs * 1.2 + 150, `soon after expiry (${took.toFixed(0)} ms)`);
  b.stop();
});

test.serial('a graceful release hands over within one retry period', async (t) => {
  const log: any[] = [];
  const a = candidate(new EtcdStore([etcd.url]), 'release', 'a', log);
  a.start();
  await sleep(250);
  const b = candidate(new EtcdStore([etcd.url]), 'release', 'b', log);
  b.start();
  await sleep(250);
  const t0 = performance.now();
  await a.release();
  while (!b.isLeader && performance.now() - t0 < 3000) await sleep(5);
  const took = performance.now() - t0;
  t.true(b.isLeader);
  t.true(took <= timing.retryPeriodMs * 1.2 + 100, `took ${took.toFixed(0)} ms`);
  b.stop();
});

test.serial('a holder cut off from the store stops leading before anyone else starts', async (t) => {
  const log: { id: string; ev: 'start' | 'stop'; t: number }[] = [];
  const cut = new Cuttable(new EtcdStore([etcd.url]));
  const a = candidate(cut, 'partition', 'a', log);
  a.start();
  await sleep(250);
  const b = candidate(new EtcdStore([etcd.url]), 'partition', 'b', log);
  b.start();
  await sleep(300);
  t.true(a.isLeader);
  cut.cut = true;
  const t0 = performance.now();
  while (!b.isLeader && performance.now() - t0 < 3000) await sleep(5);
  t.true(b.isLeader);
  const aStop = log.find((x) => x.id === 'a' && x.ev === 'stop')!;
  const bStart = log.find((x) => x.id === 'b' && x.ev === 'start')!;
  t.truthy(aStop, 'a stepped down');
  t.true(aStop.t - t0 <= timing.renewDeadlineMs + 20, `a stopped ${(aStop.t - t0).toFixed(0)} ms after the cut (renewDeadline ${timing.renewDeadlineMs})`);
  t.true(aStop.t < bStart.t, 'never two leaders');
  t.true(bStart.t - aStop.t >= timing.durationMs - timing.renewDeadlineMs - timing.retryPeriodMs * 1.2 - 50, `gap ${(bStart.t - aStop.t).toFixed(0)} ms`);
  cut.cut = false;
  await sleep(300);
  t.false(a.isLeader, 'the old holder does not take it back while b renews');
  a.stop(); b.stop();
});

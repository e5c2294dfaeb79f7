// Lease election against a real etcd: one leader; crash → takeover after the lease expires;
// release → takeover at the next retry; a holder cut off from the store steps down before
// anyone else can start.

import { type AddressInfo, connect, createServer as createNetServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { type ElectionTiming, LeaseElector } from '../../agent/election.ts';
import { EtcdStore, type LeaseStore } from '../../agent/store.ts';
import { startEtcd } from '../etcd-helper.ts';

const timing: ElectionTiming = { durationMs: 600, renewDeadlineMs: 300, retryPeriodMs: 100 };
let etcd: Awaited<ReturnType<typeof startEtcd>>;
test.before(async () => {
  etcd = await startEtcd();
});
test.after.always(() => etcd?.stop());

/** A real store with faults: `cut` makes every call hang until its deadline (a network
 *  partition); `writeDelayMs` slows lease writes, and `onWrite` tells when one has begun. */
class FaultyStore implements LeaseStore {
  cut = false;
  writeDelayMs = 0;
  onWrite?: () => void;
  reads = 0;
  writes = 0;
  constructor(private readonly inner: LeaseStore) {}
  private gate<T>(timeoutMs: number, call: () => Promise<T>): Promise<T> {
    if (!this.cut) return call();
    return new Promise((_, reject) =>
      setTimeout(() => reject(new Error('deadline exceeded (partitioned)')), timeoutMs),
    );
  }
  getLease(n: string, t: number) {
    this.reads++;
    return this.gate(t, () => this.inner.getLease(n, t));
  }
  createLease(n: string, r: any, t: number) {
    return this.gate(t, () => this.inner.createLease(n, r, t));
  }
  updateLease(n: string, r: any, v: string, t: number) {
    this.writes++;
    this.onWrite?.();
    return this.gate(t, async () => {
      await sleep(this.writeDelayMs);
      return this.inner.updateLease(n, r, v, t);
    });
  }
  allocations(t: number) {
    return this.gate(t, () => this.inner.allocations(t));
  }
  recordAllocation(k: string, a: any, t: number, replacing?: any) {
    return this.gate(t, () => this.inner.recordAllocation(k, a, t, replacing));
  }
  releaseAllocation(k: string, a: any, t: number) {
    return this.gate(t, () => this.inner.releaseAllocation(k, a, t));
  }
  close() {
    this.inner.close();
  }
}

type Log = { id: string; ev: 'start' | 'stop'; t: number }[];

/** An elector on its own store connection; the test's teardown stops it and closes the store,
 *  also when an assertion failed (an open etcd client keeps the worker alive). */
function candidate(t: ExecutionContext, store: LeaseStore, lease: string, id: string, log: Log) {
  const el = new LeaseElector(store, lease, id, timing, {
    startedLeading: () => log.push({ id, ev: 'start', t: performance.now() }),
    stoppedLeading: () => log.push({ id, ev: 'stop', t: performance.now() }),
  });
  t.teardown(() => {
    el.stop();
    store.close();
  });
  return el;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leaders = (els: LeaseElector[]) => els.filter((e) => e.isLeader).length;

/** Polls (every 5 ms, up to 3 s) until cond holds; fails naming what it waited for. */
async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** a campaigns first and leads; then b joins, and returns once b has seen a's record. */
async function holderAndCandidate(t: ExecutionContext, aStore: LeaseStore, lease: string, log: Log) {
  const a = candidate(t, aStore, lease, 'a', log);
  a.start();
  await until(() => a.isLeader, 'a to lead');
  const b = candidate(t, new EtcdStore([etcd.url]), lease, 'b', log);
  b.start();
  await until(() => b.holder === 'a', 'b to see a holding the lease');
  return { a, b };
}

/** Waits (up to 3 s) until el leads; returns how long that took from `from` (ms). */
async function leadsAfter(el: LeaseElector, from: number, pollMs = 5): Promise<number> {
  while (!el.isLeader && performance.now() - from < 3000) await sleep(pollMs);
  return performance.now() - from;
}

test.serial('allocations: create-if-absent, and a stale record is replaced only while unchanged', async (t) => {
  const store = new EtcdStore([etcd.url]);
  t.teardown(() => store.close());
  const old = { pool: 'p', ipv4: '198.18.0.100', ipv6: 'fd00::1' };
  t.deepEqual(await store.recordAllocation('ns/a', old, 2000), old);
  t.deepEqual(
    await store.recordAllocation('ns/a', { pool: 'p', ipv4: '198.18.0.101' }, 2000),
    old,
    'the first record wins',
  );
  const v4only = { pool: 'p', ipv4: '198.18.0.100' };
  t.deepEqual(
    await store.recordAllocation('ns/a', v4only, 2000, { pool: 'p', ipv4: '198.18.0.199' }),
    old,
    'not the record it meant to replace',
  );
  t.deepEqual(await store.recordAllocation('ns/a', v4only, 2000, old), v4only);
  t.deepEqual((await store.allocations(2000))['ns/a'], v4only);
  await store.releaseAllocation('ns/a', old, 2000);
  t.deepEqual((await store.allocations(2000))['ns/a'], v4only, 'released only while it is the record given');
  await store.releaseAllocation('ns/a', v4only, 2000);
  t.is((await store.allocations(2000))['ns/a'], undefined);
});

test.serial(
  "node labels: registered once from the configuration, then the store's; a new configuration registers again; changes are watched",
  async (t) => {
    const store = new EtcdStore([etcd.url]);
    t.teardown(() => store.close());
    t.deepEqual(await store.registerNode('n1', { datacenter: 'dc1', rack: 'r1' }, 2000), {
      datacenter: 'dc1',
      rack: 'r1',
    });
    let changes = 0;
    const stop = await store.watchNodeLabels('n1', () => changes++);
    t.teardown(stop);
    const seen = changes; // the watch's own connect may have counted
    // What l2l-label does with etcdctl: one key per label.
    await execa('etcdctl', ['--endpoints', etcd.url, 'del', '/l2lab/nodes/n1/labels/datacenter'], {
      env: { ETCDCTL_API: '3' },
    });
    await until(() => changes > seen, 'the watch to see the removal');
    t.deepEqual(await store.nodeLabels('n1', 2000), { rack: 'r1' });
    t.deepEqual(
      await store.registerNode('n1', { datacenter: 'dc1', rack: 'r1' }, 2000),
      { rack: 'r1' },
      'a restart keeps the relabelled node as it is',
    );
    t.deepEqual(
      await store.registerNode('n1', { datacenter: 'dc2' }, 2000),
      { datacenter: 'dc2' },
      'a changed configuration (a new lab file) registers again, and drops the labels it no longer has',
    );
  },
);

/**
 * A TCP relay to etcd that can lose the store as a powered-off machine or a partition does: its
 * connections stay open and fall silent (no reset ever comes); once healed, only new connections
 * get through — the old ones are dead, as they are after the store's machine rebooted.
 */
async function silentRelay(
  target: URL,
): Promise<{ url: string; cut: () => void; heal: () => void; close: () => void }> {
  let gen = 0;
  let down = false;
  const sockets = new Set<Socket>();
  const server = createNetServer((client) => {
    const born = gen;
    if (down) {
      sockets.add(client); // accepted and never answered, as by a machine that is gone
      return;
    }
    const up = connect(Number(target.port), target.hostname);
    sockets.add(client).add(up);
    const alive = () => !down && born === gen;
    client.on('data', (b) => alive() && up.write(b));
    up.on('data', (b) => alive() && client.write(b));
    for (const s of [client, up]) s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      down = true;
    },
    heal: () => {
      gen++;
      down = false;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test.serial(
  'a watch outlives a store that went silent: once calls get through again, it is made anew and reports',
  async (t) => {
    const relay = await silentRelay(new URL(etcd.url));
    t.teardown(relay.close);
    const store = new EtcdStore([relay.url]);
    t.teardown(() => store.close());
    await store.registerNode('n2', { rack: 'r1' }, 2000);
    let changes = 0;
    const stop = await store.watchNodeLabels('n2', () => changes++);
    t.teardown(stop);
    await until(() => changes > 0, 'the watch to be created');
    relay.cut();
    await t.throwsAsync(store.nodeLabels('n2', 300), undefined, 'the store is out of reach');
    // a change the node cannot hear about: its watch stream is dead from now on
    await execa('etcdctl', ['--endpoints', etcd.url, 'put', '/l2lab/nodes/n2/labels/rack', 'r2'], {
      env: { ETCDCTL_API: '3' },
    });
    const before = changes;
    relay.heal();
    t.deepEqual(await store.nodeLabels('n2', 2000), { rack: 'r2' }, 'the store answers again');
    await until(() => changes > before, 'the watch to be made again and report', 5000);
    const again = changes;
    await execa('etcdctl', ['--endpoints', etcd.url, 'put', '/l2lab/nodes/n2/labels/rack', 'r3'], {
      env: { ETCDCTL_API: '3' },
    });
    await until(() => changes > again, 'the new watch to see the next change');
  },
);

test.serial('exactly one of three candidates leads, and keeps leading', async (t) => {
  const log: Log = [];
  const els = ['a', 'b', 'c'].map((id) => candidate(t, new EtcdStore([etcd.url]), 'one', id, log));
  for (const e of els) e.start();
  await until(() => leaders(els) > 0, 'a leader');
  t.is(leaders(els), 1);
  for (let i = 0; i < 10; i++) {
    await sleep(100);
    t.is(leaders(els), 1);
  }
  t.is(log.filter((x) => x.ev === 'start').length, 1, 'no flapping');
});

test.serial('the holder crashes: another takes over once the lease has expired, not before', async (t) => {
  const log: Log = [];
  const { a, b } = await holderAndCandidate(t, new EtcdStore([etcd.url]), 'crash', log);
  t.true(a.isLeader);
  const crashed = performance.now();
  a.stop(); // the record stays: to others this is a dead holder
  const took = await leadsAfter(b, crashed, 10);
  t.true(b.isLeader);
  t.true(took >= timing.durationMs - timing.retryPeriodMs * 2.2 - 50, `not before expiry (${took.toFixed(0)} ms)`);
  t.true(took <= timing.durationMs + 2 * timing.retryPeriodMs * 2.2 + 150, `soon after expiry (${took.toFixed(0)} ms)`);
});

test.serial('a graceful release hands over within one retry period', async (t) => {
  const log: Log = [];
  const { a, b } = await holderAndCandidate(t, new EtcdStore([etcd.url]), 'release', log);
  const asked = performance.now();
  await a.release();
  // Measured from when the lease is free: the release's own round trips are the store's, not the election's.
  const freed = performance.now();
  const took = await leadsAfter(b, freed);
  t.true(b.isLeader);
  t.true(
    took <= timing.retryPeriodMs * 2.2 + 100,
    `took ${took.toFixed(0)} ms after the release (which took ${(freed - asked).toFixed(0)} ms)`,
  );
});

test.serial(
  'a release while a renewal is in flight still frees the lease (the renewal does not win the swap)',
  async (t) => {
    const log: Log = [];
    const slow = new FaultyStore(new EtcdStore([etcd.url]));
    slow.writeDelayMs = 40;
    const { a, b } = await holderAndCandidate(t, slow, 'inflight', log);
    t.true(a.isLeader);
    await new Promise<void>((resolve) => {
      slow.onWrite = resolve;
    }); // a renewal has read the lease and is writing
    slow.onWrite = undefined;
    await a.release();
    const freed = performance.now();
    const took = await leadsAfter(b, freed);
    t.true(b.isLeader);
    t.true(
      took <= timing.retryPeriodMs * 2.2 + 100,
      `took ${took.toFixed(0)} ms after the release, not a whole lease duration`,
    );
  },
);

test.serial(
  'a holder that stepped down past its renew deadline still frees its lease when stopped (no wait for expiry)',
  async (t) => {
    const log: Log = [];
    const cut = new FaultyStore(new EtcdStore([etcd.url]));
    const { a, b } = await holderAndCandidate(t, cut, 'starved', log);
    cut.cut = true; // renewals fail: a starved CPU or a slow store looks the same to the holder
    await until(() => !a.isLeader, 'a to step down (renewDeadline)');
    cut.cut = false;
    await a.release(); // SIGTERM right after: the record still names a
    const freed = performance.now();
    const took = await leadsAfter(b, freed);
    t.true(b.isLeader);
    t.true(
      took <= timing.retryPeriodMs * 2.2 + 100,
      `took ${took.toFixed(0)} ms after the release (the lease would expire ${timing.durationMs - timing.renewDeadlineMs} ms after the ` +
        `step-down)`,
    );
  },
);

test.serial('a holder cut off from the store stops leading before anyone else starts', async (t) => {
  const log: Log = [];
  const cut = new FaultyStore(new EtcdStore([etcd.url]));
  const { a, b } = await holderAndCandidate(t, cut, 'partition', log);
  t.true(a.isLeader);
  cut.cut = true;
  const t0 = performance.now();
  await leadsAfter(b, t0);
  t.true(b.isLeader);
  const aStop = log.find((x) => x.id === 'a' && x.ev === 'stop')!;
  const bStart = log.find((x) => x.id === 'b' && x.ev === 'start')!;
  t.truthy(aStop, 'a stepped down');
  t.true(
    aStop.t - t0 <= timing.renewDeadlineMs + 20,
    `a stopped ${(aStop.t - t0).toFixed(0)} ms after the cut (renewDeadline ${timing.renewDeadlineMs})`,
  );
  t.true(aStop.t < bStart.t, 'never two leaders');
  t.true(
    bStart.t - aStop.t >= timing.durationMs - timing.renewDeadlineMs - timing.retryPeriodMs * 2.2 - 50,
    `gap ${(bStart.t - aStop.t).toFixed(0)} ms`,
  );
  cut.cut = false;
  await until(() => a.holder === 'b', 'a to reach the store again and see b holding');
  t.false(a.isLeader, 'the old holder does not take it back while b renews');
});

test.serial("the holder renews with one write per retry period (client-go's fast path), no read", async (t) => {
  const log: Log = [];
  const counted = new FaultyStore(new EtcdStore([etcd.url]));
  const { a } = await holderAndCandidate(t, counted, 'fast', log);
  t.true(a.isLeader);
  counted.reads = counted.writes = 0;
  await sleep(10 * timing.retryPeriodMs);
  t.true(a.isLeader);
  t.true(counted.writes >= 8 && counted.writes <= 11, `${counted.writes} writes in 10 retry periods`);
  t.is(counted.reads, 0, 'a holder that wrote last reads nothing');
});

// The lease store, behind a small interface: records with an opaque version for
// compare-and-swap, as a Kubernetes Lease has its resourceVersion. etcd v3 here (Debian's
// etcd, run by the lab on the control plane, through its JSON gateway: agent/etcd.ts); a coordination.k8s.io/v1 Lease backend fits
// the same interface for running in a real cluster.

import { Etcd } from './etcd.ts';
import type { Allocation } from './ipam.ts';

/** The fields of a coordination.k8s.io/v1 Lease that leader election uses (times in ms). */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationMs: number;
  acquireTime: number;
  renewTime: number;
  leaseTransitions: number;
}

export interface Versioned<T> {
  value: T;
  version: string;
}

export interface LeaseStore {
  getLease(name: string, timeoutMs: number): Promise<Versioned<LeaseRecord> | undefined>;
  /** Creates the lease if nobody has: its new version; undefined when it exists already. */
  createLease(name: string, rec: LeaseRecord, timeoutMs: number): Promise<string | undefined>;
  /** Writes only if the lease is still at `version`: its new version; undefined when someone else wrote first. */
  updateLease(name: string, rec: LeaseRecord, version: string, timeoutMs: number): Promise<string | undefined>;
  allocations(timeoutMs: number): Promise<Record<string, Allocation>>;
  /** Records an allocation unless one exists; returns what is recorded. */
  /** Create-if-absent; with `replacing`, overwrite only that exact record (compare-and-swap). Returns what is recorded now. */
  recordAllocation(key: string, a: Allocation, timeoutMs: number, replacing?: Allocation): Promise<Allocation>;
  /** Deletes the record of a service that is gone, only while it is still `a` (compare-and-delete). */
  releaseAllocation(key: string, a: Allocation, timeoutMs: number): Promise<void>;
  close(): void;
}

/**
 * A node's labels, kept in the store as Kubernetes keeps them on the Node object: written once
 * when the node registers (from its configuration, as the kubelet's --node-labels), then changed
 * only in the store (`l2l-label`, the lab's kubectl label), and watched by the announcer.
 */
export interface NodeLabels {
  /** Registers the node with these labels unless it registered with them before; returns the labels now recorded. */
  registerNode(node: string, labels: Record<string, string>, timeoutMs: number): Promise<Record<string, string>>;
  nodeLabels(node: string, timeoutMs: number): Promise<Record<string, string>>;
  /** Calls back on every change of the node's labels, and when the watch reconnects; returns a stop function. */
  watchNodeLabels(node: string, changed: () => void): Promise<() => void>;
}

/**
 * Where services' backends run, as EndpointSlices say (endpoints' nodeName): one key per service,
 * /l2lab/endpoints/NAMESPACE/NAME = the nodes, comma-separated, written by `l2l-backend` (the
 * lab's scheduler) in one put, so that a backend moves at once.
 */
export interface Endpoints {
  endpoints(timeoutMs: number): Promise<Record<string, string[]>>;
  /** Calls back on every change, and when the watch reconnects; returns a stop function. */
  watchEndpoints(changed: () => void): Promise<() => void>;
}

export class EtcdStore implements LeaseStore, NodeLabels, Endpoints {
  private readonly client: Etcd;

  constructor(
    endpoints: string[],
    private readonly prefix = '/l2lab',
  ) {
    // No retries inside the client: every call is bounded by the caller's deadline, and a store
    // that comes back is used at once (lease timing depends on it).
    this.client = new Etcd(endpoints);
  }

  async getLease(name: string, timeoutMs: number): Promise<Versioned<LeaseRecord> | undefined> {
    const [kv] = await this.client.range(`${this.prefix}/leases/${name}`, timeoutMs);
    return kv ? { value: JSON.parse(kv.value) as LeaseRecord, version: kv.modRevision } : undefined;
  }

  async createLease(name: string, rec: LeaseRecord, timeoutMs: number): Promise<string | undefined> {
    const key = `${this.prefix}/leases/${name}`;
    const put = { put: { key, value: JSON.stringify(rec) } };
    const r = await this.client.txn([{ key, target: 'CREATE', createRevision: '0' }], [put], [], timeoutMs);
    return r.succeeded ? r.revision : undefined;
  }

  async updateLease(name: string, rec: LeaseRecord, version: string, timeoutMs: number): Promise<string | undefined> {
    const key = `${this.prefix}/leases/${name}`;
    const put = { put: { key, value: JSON.stringify(rec) } };
    const r = await this.client.txn([{ key, target: 'MOD', modRevision: version }], [put], [], timeoutMs);
    return r.succeeded ? r.revision : undefined;
  }

  async allocations(timeoutMs: number): Promise<Record<string, Allocation>> {
    const prefix = `${this.prefix}/ipam/`;
    const kvs = await this.client.range(prefix, timeoutMs, { prefix: true });
    return Object.fromEntries(kvs.map((kv) => [kv.key.slice(prefix.length), JSON.parse(kv.value) as Allocation]));
  }

  async recordAllocation(key: string, a: Allocation, timeoutMs: number, replacing?: Allocation): Promise<Allocation> {
    const k = `${this.prefix}/ipam/${key}`;
    const r = await this.client.txn(
      [
        replacing
          ? { key: k, target: 'VALUE', value: JSON.stringify(replacing) }
          : { key: k, target: 'CREATE', createRevision: '0' },
      ],
      [{ put: { key: k, value: JSON.stringify(a) } }],
      [{ get: k }],
      timeoutMs,
    );
    if (r.succeeded) return a;
    const kv = r.ranges[0]?.[0];
    return kv ? (JSON.parse(kv.value) as Allocation) : a;
  }

  async releaseAllocation(key: string, a: Allocation, timeoutMs: number): Promise<void> {
    const k = `${this.prefix}/ipam/${key}`;
    await this.client.txn([{ key: k, target: 'VALUE', value: JSON.stringify(a) }], [{ delete: k }], [], timeoutMs);
  }

  // /l2lab/nodes/NODE/registered (the configured labels it registered with), and one key per label
  // under /l2lab/nodes/NODE/labels/: a shell with etcdctl (l2l-label) sets or removes one label
  // with a plain put or del. Configured labels that changed (a new lab file) register again.
  async registerNode(node: string, labels: Record<string, string>, timeoutMs: number): Promise<Record<string, string>> {
    const base = `${this.prefix}/nodes/${node}`;
    const configured = JSON.stringify(labels);
    // etcd refuses a put inside a range the same transaction deletes: stale labels go one by one.
    const stale = Object.keys(await this.nodeLabels(node, timeoutMs)).filter((k) => !(k in labels));
    await this.client.txn(
      [{ key: `${base}/registered`, target: 'VALUE', value: configured }],
      [],
      [
        ...stale.map((k) => ({ delete: `${base}/labels/${k}` })),
        { put: { key: `${base}/registered`, value: configured } },
        ...Object.entries(labels).map(([k, v]) => ({ put: { key: `${base}/labels/${k}`, value: v } })),
      ],
      timeoutMs,
    );
    return this.nodeLabels(node, timeoutMs);
  }

  async nodeLabels(node: string, timeoutMs: number): Promise<Record<string, string>> {
    const prefix = `${this.prefix}/nodes/${node}/labels/`;
    const kvs = await this.client.range(prefix, timeoutMs, { prefix: true });
    return Object.fromEntries(kvs.map((kv) => [kv.key.slice(prefix.length), kv.value]));
  }

  watchNodeLabels(node: string, changed: () => void): Promise<() => void> {
    return Promise.resolve(this.client.watchPrefix(`${this.prefix}/nodes/${node}/labels/`, changed));
  }

  async endpoints(timeoutMs: number): Promise<Record<string, string[]>> {
    const prefix = `${this.prefix}/endpoints/`;
    const kvs = await this.client.range(prefix, timeoutMs, { prefix: true });
    return Object.fromEntries(
      kvs.map((kv) => [
        kv.key.slice(prefix.length),
        kv.value
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      ]),
    );
  }

  watchEndpoints(changed: () => void): Promise<() => void> {
    return Promise.resolve(this.client.watchPrefix(`${this.prefix}/endpoints/`, changed));
  }

  close(): void {
    this.client.close();
  }
}

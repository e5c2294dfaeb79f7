// etcd v3 through its JSON gateway (the gRPC API as JSON over HTTP, on the client port: etcd's
// --enable-grpc-gateway, on by default since 3.3). The reference announcer needs a handful of calls
// (range, transactions, watch): over node:http it loads nothing, where the gRPC client (etcd3,
// grpc-js, protobufjs parsing .proto files at start) cost seconds of start-up on emulated VMs.
// API: https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/ (keys and values base64).

import { Agent, type ClientRequest, request } from 'node:http';

export interface KeyValue {
  key: string;
  value: string;
  modRevision: string;
}

/** One comparison of a transaction (etcd's Compare: CREATE and MOD compare revisions, VALUE the value). */
export type Compare =
  | { key: string; target: 'CREATE'; createRevision: string }
  | { key: string; target: 'MOD'; modRevision: string }
  | { key: string; target: 'VALUE'; value: string };

export type Op = { put: { key: string; value: string } } | { delete: string } | { get: string };

export interface TxnResult {
  succeeded: boolean;
  /** The store's revision after the transaction: a key it put has this mod revision. */
  revision: string;
  /** The key-values each `get` of the branch that ran returned, in order. */
  ranges: KeyValue[][];
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The end of a prefix range: the prefix with its last byte incremented (etcd's clientv3.GetPrefixRangeEnd). */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--)
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]! += 1;
      return end.toString('base64');
    }
  return b64('\0'); // all 0xff: to the end of the keyspace
}

interface RawKv {
  key?: string;
  value?: string;
  mod_revision?: string;
}
const kv = (k: RawKv): KeyValue => ({ key: unb64(k.key), value: unb64(k.value), modRevision: k.mod_revision ?? '0' });

export class EtcdError extends Error {}

export class Etcd {
  // Kept-alive connections: a new one per call costs a round trip and, on an emulated CPU, more.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private current = 0;
  private closed = false;
  /** The watches running: each is made again once the store answers after it did not. */
  private readonly watches = new Set<() => void>();
  private unreachable = false;

  constructor(private readonly endpoints: string[]) {
    if (!endpoints.length) throw new EtcdError('no etcd endpoint');
  }

  async range(key: string, timeoutMs: number, opts: { prefix?: boolean } = {}): Promise<KeyValue[]> {
    const r = (await this.call(
      '/v3/kv/range',
      { key: b64(key), ...(opts.prefix ? { range_end: prefixEnd(key) } : {}) },
      timeoutMs,
    )) as { kvs?: RawKv[] };
    return (r.kvs ?? []).map(kv);
  }

  async txn(compare: Compare[], success: Op[], failure: Op[], timeoutMs: number): Promise<TxnResult> {
    const cmp = (c: Compare) =>
      c.target === 'CREATE'
        ? { key: b64(c.key), result: 'EQUAL', target: 'CREATE', create_revision: c.createRevision }
        : c.target === 'MOD'
          ? { key: b64(c.key), result: 'EQUAL', target: 'MOD', mod_revision: c.modRevision }
          : { key: b64(c.key), result: 'EQUAL', target: 'VALUE', value: b64(c.value) };
    const op = (o: Op) =>
      'put' in o
        ? { request_put: { key: b64(o.put.key), value: b64(o.put.value) } }
        : 'delete' in o
          ? { request_delete_range: { key: b64(o.delete) } }
          : { request_range: { key: b64(o.get) } };
    const r = (await this.call(
      '/v3/kv/txn',
      { compare: compare.map(cmp), success: success.map(op), failure: failure.map(op) },
      timeoutMs,
    )) as { succeeded?: boolean; header?: { revision?: string }; responses?: { response_range?: { kvs?: RawKv[] } }[] };
    return {
      succeeded: r.succeeded === true, // proto3 JSON leaves out false
      revision: r.header?.revision ?? '0',
      ranges: (r.responses ?? []).filter((x) => x.response_range).map((x) => (x.response_range!.kvs ?? []).map(kv)),
    };
  }

  /**
   * Watches every key under prefix; `changed` is called on each change and whenever the watch is
   * (re)created, since changes made while the store was out of reach are not replayed. Returns stop.
   */
  watchPrefix(prefix: string, changed: () => void, retryMs = 500): () => void {
    let stopped = false;
    let req: ClientRequest | undefined;
    let timer: NodeJS.Timeout | undefined;
    const connect = () => {
      if (stopped || this.closed) return;
      const url = new URL('/v3/watch', this.endpoints[this.current]!);
      let done = false;
      const again = () => {
        if (done) return;
        done = true;
        if (!stopped) timer = setTimeout(connect, retryMs).unref();
      };
      req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          // one JSON object per message, newline-delimited
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (!line) continue;
            try {
              const m = JSON.parse(line) as { result?: { created?: boolean; events?: unknown[] } };
              if (m.result?.created || m.result?.events?.length) changed();
            } catch {
              /* not a message: ignore it, the next one counts */
            }
          }
        });
        res.on('end', again);
        res.on('error', again);
      });
      req.on('error', again);
      req.on('close', again); // destroyed by restart, after the response began
      req.end(JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix) } }));
    };
    // A store powered off leaves the stream open and silent (no reset ever comes): once a call
    // fails and a later one succeeds, the watch is made again (created → changed).
    const restart = () => {
      clearTimeout(timer);
      req?.destroy(); // its error handler reconnects, retryMs later
    };
    this.watches.add(restart);
    connect();
    return () => {
      stopped = true;
      this.watches.delete(restart);
      clearTimeout(timer);
      req?.destroy();
    };
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches) w(); // their streams end; closed, they connect no more
    this.agent.destroy();
  }

  /** One call within the deadline, to the endpoint that last answered first, then the others. */
  private async call(path: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const end = Date.now() + timeoutMs;
    let last: Error | undefined;
    for (let i = 0; i < this.endpoints.length; i++) {
      const at = (this.current + i) % this.endpoints.length;
      const left = end - Date.now();
      if (left <= 0) break;
      try {
        const r = await this.post(new URL(path, this.endpoints[at]!), JSON.stringify(body), left);
        this.current = at;
        if (this.unreachable) {
          this.unreachable = false;
          for (const w of this.watches) w();
        }
        return r;
      } catch (e) {
        last = e as Error;
      }
    }
    this.unreachable = true;
    throw last ?? new EtcdError(`etcd: deadline of ${timeoutMs} ms exceeded`);
  }

  private post(url: URL, body: string, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => {
            clearTimeout(timer);
            if (res.statusCode !== 200) {
              reject(new EtcdError(`etcd ${url.pathname}: HTTP ${res.statusCode}: ${text.trim()}`));
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch {
              reject(new EtcdError(`etcd ${url.pathname}: not JSON: ${text.slice(0, 200)}`));
            }
          });
          res.on('error', reject);
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new Error(`etcd ${url.pathname}: no answer within ${timeoutMs} ms (${url.host})`));
      }, timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end(body);
    });
  }
}

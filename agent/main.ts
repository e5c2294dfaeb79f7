// l2lab's reference L2 announcer. Reads the Cilium objects (pool, policy, services/gateways),
// agrees on VIPs through the store, campaigns for one lease per service it may announce, and
// answers ARP/NDP for the VIPs of the leases it holds — only on the policy's interfaces. This is
// its wiring (configuration, store, watches, servers, signals); the reconcile loop is speaker.ts.
//   node dist/agent.mjs --config /etc/l2lab/announcer/config.yaml
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';
import { type AgentConfig, ConfigError, loadConfig } from './config.ts';
import { type Allocation, allocate, serviceKey } from './ipam.ts';
import { nodeInterfaces, watchInterfaces } from './link.ts';
import { jsonLog, type Log } from './log.ts';
import { ManifestError, type Manifests, parseManifests } from './manifests.ts';
import { Metrics } from './metrics.ts';
import { RateLimitedStore, TokenBucket } from './rate-limit.ts';
import { Speaker } from './speaker.ts';
import { EtcdStore, type LeaseStore } from './store.ts';
import { startBackend } from './test-backend.ts';

function readManifests(files: string[]): Manifests {
  const all: Manifests = { pools: [], policies: [], services: [] };
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new ManifestError(f, [`cannot read (${(e as NodeJS.ErrnoException).code})`]);
    }
    const m = parseManifests(text, f);
    all.pools.push(...m.pools);
    all.policies.push(...m.policies);
    all.services.push(...m.services);
  }
  if (!all.pools.length) throw new ManifestError(files.join(', '), ['no CiliumLoadBalancerIPPool']);
  return all;
}

/**
 * Calls `once` until it gives an answer (undefined: again at once), waiting a little longer after
 * each failure while the store is out of reach (every node starts before, or without, its store).
 */
async function withStore<T>(log: Log, once: () => Promise<T | undefined>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await once();
      if (r !== undefined) return r;
    } catch (e) {
      if (attempt === 1 || attempt % 10 === 0) log('store_unreachable', { attempt, error: (e as Error).message });
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
    }
  }
}

/** Allocations agreed through the store: what is recorded wins; missing ones are recorded (create-if-absent). */
function agreeOnAddresses(store: LeaseStore, m: Manifests, log: Log): Promise<Record<string, Allocation>> {
  return withStore(log, async () => {
    const existing = await store.allocations(2000);
    // A service that is gone gives its addresses back (LB-IPAM on a deleted service): coming
    // back, it is allocated afresh, beside the services it may share with.
    const present = new Set(m.services.map(serviceKey));
    for (const [k, a] of Object.entries(existing))
      if (!present.has(k)) {
        await store.releaseAllocation(k, a, 2000);
        delete existing[k];
      }
    const wanted = allocate(m.pools, m.services, existing);
    const agreed: Record<string, Allocation> = {};
    for (const [k, a] of Object.entries(wanted)) {
      const had = existing[k];
      // A record allocate() did not keep (its pool lost the address) is replaced, only if unchanged meanwhile.
      agreed[k] =
        had && JSON.stringify(had) === JSON.stringify(a) ? had : await store.recordAllocation(k, a, 2000, had);
    }
    // Another node may have recorded different addresses first: recompute until stable.
    const again = allocate(m.pools, m.services, agreed);
    return JSON.stringify(again) === JSON.stringify(agreed) ? agreed : undefined;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) throw new ConfigError('(command line)', ['--config FILE is required']);
  const cfg: AgentConfig = loadConfig(values.config);
  const m = readManifests(cfg.manifests);
  const log = jsonLog(cfg.node);
  const metrics = new Metrics();
  const store = new EtcdStore(cfg.store.etcd);
  log('starting', {
    config: values.config,
    lease: cfg.lease,
    services: m.services.length,
    policies: m.policies.map((p) => p.name),
  });

  const alloc = await agreeOnAddresses(store, m, log);
  for (const s of m.services)
    if (s.loadBalancer)
      log('address', { service: serviceKey(s), ...(alloc[serviceKey(s)] ?? { error: 'no pool address' }) });
  // The node's labels live in the store (registered from the configuration once), so that
  // relabelling the node moves its announcements as a nodeSelector says (Cilium #32148).
  let labels = cfg.watchLabels
    ? await withStore(log, () => store.registerNode(cfg.node, cfg.labels, 2000))
    : cfg.labels;
  // Where the backends of externalTrafficPolicy Local services run (the lab's EndpointSlices).
  const local = cfg.localBackendsOnly && m.services.some((s) => s.trafficPolicy === 'Local');
  let endpoints = local ? await withStore(log, () => store.endpoints(2000)) : {};

  // Lease calls wait for the client's rate limit, as Cilium's kube client's (k8sClientRateLimit).
  const bucket = cfg.store.qps > 0 ? new TokenBucket(cfg.store.qps, cfg.store.burst) : undefined;
  const leases = bucket ? new RateLimitedStore(store, bucket) : store;
  if (bucket) {
    // As client-go's "Waited for … due to client-side throttling": once a few seconds while it waits.
    let said = 0;
    setInterval(() => {
      metrics.clientWait.set({}, bucket.waitedMs / 1000);
      if (bucket.waitedMs - said >= 1)
        log('client_throttled', { waitedMs: Math.round(bucket.waitedMs - said), qps: bucket.qps });
      said = bucket.waitedMs;
    }, 5000).unref();
  }
  const speaker = new Speaker(cfg, m, alloc, leases, metrics, log, nodeInterfaces());
  await speaker.reconcile(labels, endpoints);
  // Changes are read and reconciled one at a time, in the order they come.
  const unwatch: (() => void)[] = [];
  let pending = Promise.resolve();
  const whenChanged = (what: string, read: () => Promise<boolean>) => () => {
    pending = pending.then(async () => {
      try {
        if (await read()) await speaker.reconcile(labels, endpoints);
      } catch (e) {
        log(`${what}_unreadable`, { error: (e as Error).message }); // read again on the next change or reconnect
      }
    });
  };
  if (cfg.watchLabels)
    unwatch.push(
      await store.watchNodeLabels(
        cfg.node,
        whenChanged('labels', async () => {
          const now = await store.nodeLabels(cfg.node, 2000);
          if (JSON.stringify(now) === JSON.stringify(labels)) return false;
          log('labels_changed', { from: labels, to: now });
          labels = now;
          return true;
        }),
      ),
    );
  if (cfg.watchInterfaces)
    unwatch.push(
      watchInterfaces((now) =>
        whenChanged('interfaces', async () => {
          speaker.interfacesChanged(now);
          return true;
        })(),
      ),
    );
  if (local)
    unwatch.push(
      await store.watchEndpoints(
        whenChanged('endpoints', async () => {
          const now = await store.endpoints(2000);
          if (JSON.stringify(now) === JSON.stringify(endpoints)) return false;
          log('endpoints_changed', { from: endpoints, to: now });
          endpoints = now;
          return true;
        }),
      ),
    );

  const backend = await startBackend(cfg.http.port, cfg.http.hostname, cfg.node);
  const metricsServer = cfg.metrics ? await serveMetrics(cfg.metrics.listen, metrics) : undefined;
  log('ready', { http: cfg.http.port, metrics: cfg.metrics?.listen });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('stopping', { signal });
    for (const u of unwatch) u();
    await speaker.stop();
    backend.close();
    metricsServer?.close();
    store.close();
    log('stopped', {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** Prometheus's text format on /metrics at host:port. */
async function serveMetrics(listen: string, metrics: Metrics): Promise<Server> {
  const host = listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const port = Number(listen.split(':').pop());
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
  });
  await new Promise<void>((r) => server.listen(port, host, r));
  return server;
}

main().catch((e: unknown) => {
  const bad = e instanceof ConfigError || e instanceof ManifestError;
  process.stderr.write(`l2lab-announcer: ${bad ? 'bad configuration: ' : ''}${(e as Error).message}\n`);
  process.exit(bad ? 2 : 1);
});

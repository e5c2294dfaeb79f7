// l2lab's reference L2 announcer. Reads the Cilium objects (pool, policy, services/gateways),
// agrees on VIPs through the store, campaigns for one lease per service it may announce, and
// answers ARP/NDP for the VIPs of the leases it holds — only on the policy's interfaces.
//   node dist/agent.mjs --config /etc/l2lab/announcer/config.yaml
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { isIPv4 } from 'node:net';
import { parseArgs } from 'node:util';
import { run } from '../lab/command.ts';
import { type AgentConfig, ConfigError, loadConfig } from './config.ts';
import { LeaseElector } from './election.ts';
import { type Allocation, allocate, serviceKey } from './ipam.ts';
import { hasCarrier, watchCarrier } from './link.ts';
import { jsonLog, type Log } from './log.ts';
import { leaseName, ManifestError, type Manifests, parseManifests } from './manifests.ts';
import { Metrics } from './metrics.ts';
import { type Announcement, announcements, type Backends, byAddress } from './policy.ts';
import { Responder } from './responder.ts';
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
  const nodeIfaces = readdirSync('/sys/class/net');
  // The node's labels live in the store (registered from the configuration once), so that
  // relabelling the node moves its announcements as a nodeSelector says (Cilium #32148).
  let labels = cfg.watchLabels
    ? await withStore(log, () => store.registerNode(cfg.node, cfg.labels, 2000))
    : cfg.labels;
  // Where the backends of externalTrafficPolicy Local services run (the lab's EndpointSlices).
  const local = cfg.localBackendsOnly && m.services.some((s) => s.trafficPolicy === 'Local');
  let endpoints = local ? await withStore(log, () => store.endpoints(2000)) : {};
  const backends = (): Backends | undefined =>
    cfg.localBackendsOnly ? { node: cfg.node, endpoints, gateways: cfg.gatewayBackends } : undefined;

  // Every eligible node accepts traffic for the VIPs (on lo, never announced by the kernel);
  // only the lease holder answers ARP/NDP for them, so only it receives that traffic.
  const onLo = new Set<string>();
  const acceptOnLo = async (vips: string[]) => {
    for (const v of vips.filter((x) => !onLo.has(x))) {
      await run([
        'ip',
        'addr',
        'replace',
        isIPv4(v) ? `${v}/32` : `${v}/128`,
        'dev',
        'lo',
        ...(isIPv4(v) ? [] : ['nodad']),
      ]);
      onLo.add(v);
    }
  };

  const responders = new Map<string, Responder>();
  const unwatch: (() => void)[] = [];
  const electors = new Map<string, { el: LeaseElector; ann: Announcement }>();
  // A node whose announcing link is down gives up the leases announced there (and stops
  // campaigning for them) even if the store is still reachable through another interface.
  const responderOn = (i: string): Responder => {
    const had = responders.get(i);
    if (had) return had;
    const r = new Responder(
      i,
      metrics,
      log,
      cfg.announce.answerDelayMs,
      { override: cfg.announce.naOverride, targetLinkAddr: cfg.announce.naTargetLinkAddr },
      cfg.announce.joinSolicitedNode,
    );
    r.start();
    responders.set(i, r);
    metrics.linkUp.set({ interface: i }, hasCarrier(i) ? 1 : 0);
    const onChange = (up: boolean) => {
      metrics.linkUp.set({ interface: i }, up ? 1 : 0);
      log(up ? 'link_up' : 'link_down', { interface: i });
      for (const { el, ann } of electors.values()) {
        if (!ann.interfaces.includes(i)) continue;
        const usable = ann.interfaces.some(hasCarrier);
        if (!usable) void el.release();
        else el.start();
      }
    };
    unwatch.push(watchCarrier(i, onChange));
    return r;
  };

  const campaign = (ann: Announcement) => {
    const svc = serviceKey(ann.service);
    for (const i of ann.interfaces) responderOn(i);
    const el = new LeaseElector(store, leaseName(ann.service), cfg.node, cfg.lease, {
      startedLeading: () => {
        metrics.leader.set({ service: svc }, 1);
        metrics.transitions.inc({ service: svc });
        const up = ann.interfaces.filter(hasCarrier);
        log('lease_acquired', { service: svc, lease: el.name, vips: ann.vips, interfaces: up });
        for (const i of up)
          responders
            .get(i)!
            .claim(ann.vips, cfg.announce.gratuitousCount, cfg.announce.gratuitousIntervalMs, svc, () => el.holdsNow());
      },
      stoppedLeading: (reason) => {
        for (const i of ann.interfaces) responders.get(i)!.drop(ann.vips, svc);
        metrics.leader.set({ service: svc }, 0);
        metrics.stepDowns.inc({ service: svc, reason: reason.split(' ')[0]! });
        log('lease_lost', { service: svc, lease: el.name, reason });
      },
      renewed: (ms) => metrics.renewLatency.observe({ service: svc }, ms / 1000),
      error: () => metrics.storeErrors.inc({ service: svc }),
    });
    electors.set(svc, { el, ann });
    metrics.leader.set({ service: svc }, 0);
    if (ann.interfaces.some(hasCarrier)) el.start();
  };

  /** What this node may announce with these labels: campaigns for new services, lets go of the others. */
  const reconcile = async () => {
    const each = announcements(m.policies, m.services, alloc, labels, nodeIfaces, backends());
    const anns = cfg.electPer === 'address' ? byAddress(each) : each;
    const wanted = new Map(anns.map((a) => [serviceKey(a.service), a]));
    log('eligible', {
      labels,
      services: anns.map((a) => ({
        service: serviceKey(a.service),
        ...(a.sharedWith && { sharedWith: a.sharedWith }),
        vips: a.vips,
        interfaces: a.interfaces,
      })),
    });
    for (const [svc, { el, ann }] of electors) {
      const now = wanted.get(svc);
      // The same lease, addresses and interfaces: keep leading (a service joining or leaving a
      // shared address changes nothing on the wire).
      const same = (a: Announcement) => JSON.stringify([leaseName(a.service), [...a.vips].sort(), a.interfaces]);
      if (now && same(now) === same(ann)) continue;
      electors.delete(svc);
      log(now ? 'announcement_changed' : 'not_eligible', { service: svc, lease: el.name });
      await el.release(); // the next eligible node takes over on its next retry
    }
    for (const [svc, a] of wanted)
      if (!electors.has(svc)) {
        await acceptOnLo(a.vips);
        campaign(a);
      }
  };
  await reconcile();
  // Changes are read and reconciled one at a time, in the order they come.
  let pending = Promise.resolve();
  const whenChanged = (what: string, read: () => Promise<boolean>) => () => {
    pending = pending.then(async () => {
      try {
        if (await read()) await reconcile();
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
  let metricsServer: ReturnType<typeof createServer> | undefined;
  if (cfg.metrics) {
    const [host, port] = [
      cfg.metrics.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
      Number(cfg.metrics.listen.split(':').pop()),
    ];
    metricsServer = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
    });
    await new Promise<void>((r) => metricsServer!.listen(port, host, r));
  }
  log('ready', { http: cfg.http.port, metrics: cfg.metrics?.listen });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('stopping', { signal });
    for (const u of unwatch) u();
    await Promise.all([...electors.values()].map(({ el }) => el.release())); // others take over on their next retry
    for (const r of responders.values()) r.close();
    for (const v of onLo)
      await run(['ip', 'addr', 'del', isIPv4(v) ? `${v}/32` : `${v}/128`, 'dev', 'lo'], { check: false });
    backend.close();
    metricsServer?.close();
    store.close();
    log('stopped', {});
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  const bad = e instanceof ConfigError || e instanceof ManifestError;
  process.stderr.write(`l2lab-announcer: ${bad ? 'bad configuration: ' : ''}${(e as Error).message}\n`);
  process.exit(bad ? 2 : 1);
});

// The speaker: one reconcile loop, as MetalLB's layer-2 speaker. `reconcile(labels, endpoints)`
// turns what this node may announce now into campaigns (one lease per service) and lets go of the
// rest; a lease won claims the VIPs on the announcing interfaces' responders, a lease lost drops
// them; an announcing link that loses carrier gives up its leases even if the store is still
// reachable another way. main.ts wires it to the store's watches and the process's signals.
import { isIPv4 } from 'node:net';
import { run } from '../lab/command.ts';
import type { AgentConfig } from './config.ts';
import { LeaseElector } from './election.ts';
import { type Allocation, serviceKey } from './ipam.ts';
import { hasCarrier, watchCarrier } from './link.ts';
import type { Log } from './log.ts';
import { leaseName, type Manifests } from './manifests.ts';
import type { Metrics } from './metrics.ts';
import { type Announcement, announcements, type Backends, byAddress } from './policy.ts';
import { Responder } from './responder.ts';
import type { LeaseStore } from './store.ts';

export class Speaker {
  private readonly responders = new Map<string, Responder>();
  private readonly electors = new Map<string, { el: LeaseElector; ann: Announcement }>();
  private readonly onLo = new Set<string>();
  /** Per interface with a responder, what stops watching its carrier. */
  private readonly unwatch = new Map<string, () => void>();

  constructor(
    private readonly cfg: AgentConfig,
    private readonly m: Manifests,
    private readonly alloc: Record<string, Allocation>,
    private readonly store: LeaseStore,
    private readonly metrics: Metrics,
    private readonly log: Log,
    /** The node's interfaces (a policy's interface regexes select among them); see interfacesChanged. */
    private nodeIfaces: string[],
  ) {}

  /** The node's interfaces now (one appeared or went): the next reconcile announces accordingly. */
  interfacesChanged(now: string[]): void {
    this.log('interfaces_changed', {
      added: now.filter((i) => !this.nodeIfaces.includes(i)),
      removed: this.nodeIfaces.filter((i) => !now.includes(i)),
    });
    this.nodeIfaces = now;
  }

  /** What this node may announce with these labels and endpoints: campaigns for new services, lets go of the others. */
  async reconcile(labels: Record<string, string>, endpoints: Backends['endpoints']): Promise<void> {
    const backends: Backends | undefined = this.cfg.localBackendsOnly
      ? { node: this.cfg.node, endpoints, gateways: this.cfg.gatewayBackends }
      : undefined;
    const each = announcements(this.m.policies, this.m.services, this.alloc, labels, this.nodeIfaces, backends);
    const anns = this.cfg.electPer === 'address' ? byAddress(each) : each;
    const wanted = new Map(anns.map((a) => [serviceKey(a.service), a]));
    this.log('eligible', {
      labels,
      services: anns.map((a) => ({
        service: serviceKey(a.service),
        ...(a.sharedWith && { sharedWith: a.sharedWith }),
        vips: a.vips,
        interfaces: a.interfaces,
      })),
    });
    for (const [svc, { el, ann }] of this.electors) {
      const now = wanted.get(svc);
      // The same lease, addresses and interfaces: keep leading (a service joining or leaving a
      // shared address changes nothing on the wire).
      const same = (a: Announcement) => JSON.stringify([leaseName(a.service), [...a.vips].sort(), a.interfaces]);
      if (now && same(now) === same(ann)) continue;
      this.electors.delete(svc);
      this.log(now ? 'announcement_changed' : 'not_eligible', { service: svc, lease: el.name });
      await el.release(); // the next eligible node takes over on its next retry
    }
    for (const [svc, a] of wanted)
      if (!this.electors.has(svc)) {
        await this.acceptOnLo(a.vips);
        this.campaign(a);
      }
    // An interface that went took its capture handle with it: a new one if it comes back.
    for (const [i, r] of this.responders)
      if (!this.nodeIfaces.includes(i)) {
        this.unwatch.get(i)?.();
        this.unwatch.delete(i);
        r.close();
        this.responders.delete(i);
      }
  }

  /** Lets every lease go (others take over on their next retry), stops answering, removes what it added. */
  async stop(): Promise<void> {
    for (const u of this.unwatch.values()) u();
    await Promise.all([...this.electors.values()].map(({ el }) => el.release()));
    for (const r of this.responders.values()) r.close();
    for (const v of this.onLo)
      await run(['ip', 'addr', 'del', isIPv4(v) ? `${v}/32` : `${v}/128`, 'dev', 'lo'], { check: false });
  }

  /** Every eligible node accepts traffic for the VIPs (on lo, never announced by the kernel); only the holder answers ARP/NDP. */
  private async acceptOnLo(vips: string[]): Promise<void> {
    for (const v of vips.filter((x) => !this.onLo.has(x))) {
      await run([
        'ip',
        'addr',
        'replace',
        isIPv4(v) ? `${v}/32` : `${v}/128`,
        'dev',
        'lo',
        ...(isIPv4(v) ? [] : ['nodad']),
      ]);
      this.onLo.add(v);
    }
  }

  /** The responder of an interface, started on first use; its carrier decides whether the leases announced there are campaigned for. */
  private responderOn(i: string): Responder {
    const had = this.responders.get(i);
    if (had) return had;
    const { cfg, metrics, log } = this;
    const r = new Responder(
      i,
      metrics,
      log,
      cfg.announce.answerDelayMs,
      { override: cfg.announce.naOverride, targetLinkAddr: cfg.announce.naTargetLinkAddr },
      cfg.announce.joinSolicitedNode,
      cfg.announce.refreshMs,
      new Set(cfg.announce.ignoreSenders),
    );
    r.start();
    this.responders.set(i, r);
    metrics.linkUp.set({ interface: i }, hasCarrier(i) ? 1 : 0);
    const onChange = (up: boolean) => {
      metrics.linkUp.set({ interface: i }, up ? 1 : 0);
      log(up ? 'link_up' : 'link_down', { interface: i });
      if (up) r.reopen(); // the old capture handle died if the interface was set down
      for (const { el, ann } of this.electors.values()) {
        if (!ann.interfaces.includes(i)) continue;
        const usable = ann.interfaces.some(hasCarrier);
        if (!usable) void el.release();
        else el.start();
      }
    };
    this.unwatch.set(i, watchCarrier(i, onChange));
    return r;
  }

  private campaign(ann: Announcement): void {
    const { cfg, metrics, log } = this;
    const svc = serviceKey(ann.service);
    for (const i of ann.interfaces) this.responderOn(i);
    const el = new LeaseElector(this.store, leaseName(ann.service), cfg.node, cfg.lease, {
      startedLeading: () => {
        metrics.leader.set({ service: svc }, 1);
        metrics.transitions.inc({ service: svc });
        const up = ann.interfaces.filter(hasCarrier);
        log('lease_acquired', { service: svc, lease: el.name, vips: ann.vips, interfaces: up });
        for (const i of up)
          this.responders
            .get(i)!
            .claim(ann.vips, cfg.announce.gratuitousCount, cfg.announce.gratuitousIntervalMs, svc, () => el.holdsNow());
      },
      stoppedLeading: (reason) => {
        for (const i of ann.interfaces) this.responders.get(i)?.drop(ann.vips, svc); // absent: its interface went
        metrics.leader.set({ service: svc }, 0);
        metrics.stepDowns.inc({ service: svc, reason: reason.split(' ')[0]! });
        log('lease_lost', { service: svc, lease: el.name, reason });
      },
      renewed: (ms) => metrics.renewLatency.observe({ service: svc }, ms / 1000),
      error: () => metrics.storeErrors.inc({ service: svc }),
    });
    this.electors.set(svc, { el, ann });
    metrics.leader.set({ service: svc }, 0);
    if (ann.interfaces.some(hasCarrier)) el.start();
  }
}

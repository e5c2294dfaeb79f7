// What a check gets: the lab, the subject, the VIPs, a prober on the client (prober.ts), faults
// that are always undone (fault-session.ts), and every capture of the run so far. Trials are
// analysed by trial.ts; this file only orchestrates: break → moves → heal → returns.
import { faultPlugin } from '../lab/faults/index.ts';
import { controlPlane, managementAddress, switchNic } from '../lab/hosts.ts';
import type { ExecResult, Provider } from '../lab/provider.ts';
import { matches } from '../lab/selector.ts';
import type { Fault, Lab, LabHost } from '../lab/types.ts';
import { render } from '../playbooks/expr.ts';
import type { Vip } from './addresses/index.ts';
import { answeredCount, type Family, requestsOf, responders } from './analyze.ts';
import { SubjectFailure } from './errors.ts';
import type { Baseline, ProbeEvent } from './events.ts';
import { FaultSession } from './fault-session.ts';
import { onKubernetes } from './kubectl.ts';
import type { Trial } from './model.ts';
import { type ProbeOptions, Prober, type Window } from './prober.ts';
import type { Subject } from './subject.ts';
import { analyzeTrial, NOT_JUDGED, RELAPSE_PROBES } from './trial.ts';

export type { Vip };

/** How long an ARP/NDP or HTTP answer may take and still count: 150 ms, plus emulation's slack on VMs. */
export const answerTimeoutOf = (subject: Subject): number => 150 + subject.extraSlackMs;
export type Progress = (message: string) => void;

// A trial watches this long past its budget: a late responder still gets a figure, and HTTP
// (which stale-cache allows budget + 300 ms) has time to come back.
const AFTER_BUDGET_MS = 1000;
// A node's power-on or restart, beyond the subject's ready wait: the most a fault waits for the last one's undo.
const HEAL_ALLOWANCE_MS = 30_000;

/** A subject's record of who holds a lease: its holder command, on the control plane or where kubectl runs; '' if nobody. */
export async function leaseHolder(subject: Subject, lab: Lab, provider: Provider, lease: string): Promise<string> {
  const holder = subject.holder!;
  let r: ExecResult & { where: string };
  if (holder.on === 'kubernetes')
    r = await onKubernetes(lab, provider, (kubectl) => String(render(holder.command, { lease, kubectl })));
  else {
    const cp = controlPlane(lab);
    const cmd = String(render(holder.command, { lease, management_ipv4: managementAddress(lab, cp) }));
    r = { ...(await provider.exec(lab, cp.name, ['sh', '-c', cmd])), where: cp.name };
  }
  if (r.exitCode !== 0)
    throw new SubjectFailure(
      `the holder command failed on ${r.where} (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`,
    );
  return r.stdout.trim();
}

export class Context {
  readonly prober: Prober;
  readonly faults: FaultSession;
  /** The last trial, until the lab has been seen back at one stable responder after its heal. */
  private healing?: Trial;
  /** How long the lab may take to show one stable responder (after an install, a heal). */
  stableTimeoutMs = 15_000;
  /**
   * Installs the subject again with some setup variables changed (scale-curve: more VIPs, another
   * client rate limit) and returns its VIPs then; absent where l2lab installs nothing.
   */
  reinstall?: (vars: Record<string, unknown>) => Promise<Vip[]>;

  constructor(
    readonly lab: Lab,
    readonly provider: Provider,
    readonly subject: Subject,
    readonly vips: Vip[],
    readonly outDir: string,
    readonly probeIntervalMs: number,
    readonly progress: Progress,
    /** VIPs of the lab's further L2 domains (Vip.domain): only domain-isolation probes them, each on its own NIC. */
    readonly domainVips: Vip[] = [],
    /** The subject was already running: l2lab installed nothing (so no check's objects either). */
    readonly preinstalled = false,
  ) {
    // A request counts by when it was sent; on emulated VMs the new holder's first responses are
    // slow, and a 150 ms timeout counted them as outage (CI: HTTP back 2.9 s after a link-down).
    this.prober = new Prober(lab, provider, outDir, probeIntervalMs, answerTimeoutOf(subject));
    this.faults = new FaultSession(lab, provider, subject, progress);
  }

  /**
   * The lab reports emulation (a processing slack beyond a real CPU's): how long things take there
   * is a fact about the emulator, so timing is reported, not judged, where a check says so.
   */
  get emulated(): boolean {
    return this.subject.extraSlackMs > 0;
  }

  /** A time over its budget: a problem on a real CPU, a note on an emulated lab (structural verdicts stay). */
  late(problems: string[], notes: string[], message: string): void {
    if (this.emulated) notes.push(`${message} ${NOT_JUDGED}`);
    else problems.push(message);
  }

  get captures() {
    return this.prober.captures;
  }
  get eligible(): LabHost[] {
    return this.lab.nodes.filter((n) => matches(this.lab.policy.nodeSelector, n.labels));
  }
  get excluded(): LabHost[] {
    return this.lab.nodes.filter((n) => !matches(this.lab.policy.nodeSelector, n.labels));
  }
  switchMac(h: LabHost): string {
    return switchNic(h).mac;
  }
  nodeOfMac(mac?: string): string | undefined {
    for (const h of this.lab.nodes)
      for (const i of h.interfaces) if (i.mac === mac) return `${h.name}${i.network === 'switch' ? '' : `/${i.name}`}`;
    return mac;
  }
  get main(): Vip {
    return this.vips[0]!;
  }
  /** A VIP's addresses in the families the subject claims. */
  claimedOf(v: Vip): { ip: string; family: Family }[] {
    return [
      ...(v.ipv4 && this.subject.has('ipv4') ? [{ ip: v.ipv4, family: 'arp' as const }] : []),
      ...(v.ipv6 && this.subject.has('ipv6') ? [{ ip: v.ipv6, family: 'ndp' as const }] : []),
    ];
  }
  private get claimed(): { ip: string; family: Family }[] {
    return this.claimedOf(this.main);
  }
  /** The one address settle probes watch: IPv4 where claimed. */
  private get watched(): { ip: string; family: Family } {
    return this.claimed[0] ?? { ip: this.main.ipv6!, family: 'ndp' };
  }
  /** A settle probe: ten requests, every one answered by one node. */
  private get settleMs(): number {
    return Math.max(200, 10 * this.probeIntervalMs);
  }

  /** One probe window of the subject's VIPs (the main one unless `vips`), in the families it claims. */
  async probe(
    name: string,
    durationMs: number,
    opts: Partial<
      Pick<ProbeOptions, 'vips' | 'during' | 'keep' | 'settle' | 'duringMs' | 'iface' | 'listenOnly' | 'intervalMs'>
    > & {
      http?: boolean;
      /** The last trial's node may still be coming back (a trial's own window: its fault waits for it). */
      whileUndoing?: boolean;
    } = {},
  ): Promise<Window> {
    if (!opts.whileUndoing) await this.faults.undone();
    return this.prober.probe(name, durationMs, {
      ipv4: this.subject.has('ipv4'),
      ipv6: this.subject.has('ipv6'),
      vips: opts.vips ?? [this.main],
      during: opts.during,
      keep: opts.keep,
      settle: opts.settle,
      duringMs: opts.duringMs,
      iface: opts.iface,
      listenOnly: opts.listenOnly,
      intervalMs: opts.intervalMs,
      http: opts.http && this.subject.has('http') ? this.main.ipv4 : undefined,
    });
  }

  inject(f: Fault): Promise<number | undefined> {
    return this.faults.inject(f);
  }

  /** Ctrl-C: no new fault or probe, the window open now ends, the faults in force are undone. */
  interrupt(): void {
    this.faults.interrupt();
    this.prober.interrupt();
    void this.faults.undoAll();
  }
  undo(f: Fault): Promise<void> {
    return this.faults.undo(f);
  }

  /** Waits until anyone answers for the main VIP (a subject starting up); judges nothing. */
  async anyAnswer(timeoutMs: number): Promise<boolean> {
    let end = Date.now() + timeoutMs;
    // Every family the subject claims: a resource group may bring up its IPv6 address seconds
    // after the IPv4 one (Pacemaker's IPaddr2 pair on an emulated VM). Once one family answers,
    // the others get a few detection times, not the whole wait: a subject that never answers one
    // (a fixture behind a snooping switch) is for the checks to judge, two minutes sooner.
    const watched = this.claimed.length ? this.claimed : [this.watched];
    let oneAnswered = false;
    while (Date.now() < end) {
      const { events } = await this.probe('settle', this.settleMs, { keep: false });
      const answered = watched.filter(({ ip, family }) => responders(events, ip, family).length);
      if (answered.length === watched.length) return true;
      if (answered.length && !oneAnswered) {
        oneAnswered = true;
        end = Math.min(end, Date.now() + Math.max(20_000, 3 * this.subject.budgetMs('power-off')));
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** Who answered the watched address in a settle probe, and how many of its requests went unanswered. */
  private answering(events: ProbeEvent[]): { who: string[]; asked: number; missed: number } {
    const { ip, family } = this.watched;
    const asked = requestsOf(events, ip, family);
    return { who: responders(events, ip, family), asked: asked.length, missed: asked.length - answeredCount(asked) };
  }

  /** The node answering for the main VIP, once exactly one answers every request of a short probe. */
  async stableHolder(timeoutMs = this.stableTimeoutMs): Promise<string> {
    const end = Date.now() + timeoutMs;
    const { ip } = this.watched;
    let last = '';
    while (Date.now() < end) {
      const { events } = await this.probe('settle', this.settleMs, { keep: false });
      const { who, asked, missed } = this.answering(events);
      if (who.length === 1 && asked > 0 && missed <= 1) {
        const node = this.nodeOfMac(who[0])!;
        this.healed(node.split('/')[0]!);
        return node;
      }
      last = who.length ? `answered by ${who.map((m) => this.nodeOfMac(m)).join(' and ')}` : 'no answer';
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new SubjectFailure(`no single stable responder for ${ip} within ${timeoutMs} ms (${last})`);
  }

  /** The subject's own record of who holds a lease (its holder command, on the control plane); '' if nobody. */
  async leaseHolder(lease: string): Promise<string> {
    await this.faults.undone();
    return leaseHolder(this.subject, this.lab, this.provider, lease);
  }

  /** The fault of a kind as a trial puts it on a node (its parameters for this subject). */
  trialFault(kind: string, node: string): Fault {
    const t = faultPlugin(kind).trial;
    if (!t) throw new Error(`fault ${kind} has no failover trial`);
    return { kind, node, ...t.params(this.subject.service, this.lab, node) };
  }

  /** The node answering the main VIP in a baseline, if exactly one answered (nearly) every request. */
  private holderIn(baseline: Baseline): string {
    const { ip } = this.watched;
    const b = baseline[ip];
    if (b && b.responders.length === 1 && b.answers >= b.requests - 1)
      return this.nodeOfMac(b.responders[0])!.split('/')[0]!;
    const who = b?.responders.map((m) => this.nodeOfMac(m)).join(' and ') || 'nobody';
    throw new NotSettled(
      `${ip} answered by ${who} (${b?.answers ?? 0} of ${b?.requests ?? 0} requests) before the fault`,
    );
  }

  /**
   * After an install the subject may still be electing (keepalived's nodes start as backups and
   * one preempts the other seconds later): a first trial injected then would time a takeover
   * that was already under way. Settled: the same single node answered every probe for one
   * detection time (`quietMs`, the subject's power-off budget). Returns whether it settled.
   */
  async settled(quietMs: number, timeoutMs = 3 * quietMs + 15_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      let holder: string;
      try {
        // No single responder within a detection time and then some: the checks will say so.
        holder = await this.stableHolder(Math.max(1000, Math.min(quietMs + 5000, end - Date.now())));
      } catch {
        return false;
      }
      const { events } = await this.probe('settle', quietMs, { keep: false });
      const { who, missed } = this.answering(events);
      if (who.length === 1 && this.nodeOfMac(who[0]) === holder && missed <= 2) return true;
      this.progress(
        `not settled yet: ${who.map((m) => this.nodeOfMac(m)).join(' then ') || 'nobody'} answered in ${quietMs} ms; watching again`,
      );
    }
    return false;
  }

  /**
   * break → moves → heal: one failover trial of a fault on the current holder, measured from the
   * client. The holder is whoever the trial's own baseline shows answering (no settle probe before
   * it); the window ends shortly after the failover has played out, or at the budget + 1 s.
   */
  /**
   * watchAfterMs: keep watching this long after the failover has played out (announcement
   * patterns); stabilityMs: as long, and the new holder must keep the VIP all that time (a lease
   * lost and won again shows).
   */
  async trial(kind: string, n: number, opts: { watchAfterMs?: number; stabilityMs?: number } = {}): Promise<Trial> {
    const budgetMs = this.subject.budgetMs(kind);
    // Where the hosts run DAD, a VIP added without nodad is silent while it is tentative.
    const dadMs = this.lab.switch.dad && this.subject.has('ipv6') ? this.subject.dadMs : 0;
    const watchAfterMs = Math.max(opts.watchAfterMs ?? 0, opts.stabilityMs ?? 0);
    const windowMs = budgetMs + dadMs + AFTER_BUDGET_MS + watchAfterMs;
    const announce: Family[] = [
      ...(this.subject.has('ipv4') && this.subject.has('gratuitous-arp') ? (['arp'] as const) : []),
      ...(this.subject.has('ipv6') && this.subject.has('unsolicited-na') ? (['ndp'] as const) : []),
    ];
    let holder = '';
    let probe: Window | undefined;
    // A subject that fails back does so a while after the last heal (keepalived, 1 s adverts: CI
    // timed one of five power-offs below 250 ms: the preemption, not the fault): wait until it has.
    if (this.subject.failback && this.healing) await this.settled(this.subject.budgetMs('power-off'));
    // The last trial's node may still be booting (its undo runs in the background, see below):
    // this window starts meanwhile, and its fault waits until that node is ready. Whatever the
    // node does once back is in this window's capture, before the fault, and judged there.
    let fault: Fault | undefined;
    const clientNic = switchNic(this.lab.client).name;
    for (let attempt = 1; !probe; attempt++) {
      // The client's neighbour entry must point at the current holder when the fault hits (it may
      // still name a former holder, whose node serves the VIP too): resolve it afresh now, then
      // never touch it again — what follows is what a client with a stale cache sees.
      for (const ip of [this.main.ipv4, this.main.ipv6].filter(Boolean))
        await this.provider.exec(this.lab, this.lab.client.name, ['ip', 'neigh', 'del', ip!, 'dev', clientNic]);
      const whileUndoing = this.faults.isUndoing;
      try {
        probe = await this.probe(`${kind}-${n}`, windowMs, {
          http: true,
          whileUndoing,
          // How long the fault may wait for that node: its power-on and the subject's ready wait.
          duringMs: whileUndoing ? HEAL_ALLOWANCE_MS + (this.subject.ready?.timeoutS ?? 0) * 1000 : 0,
          // ten probes: split-brain right after the takeover
          settle: { announce, tailMs: Math.max(200, 10 * this.probeIntervalMs, watchAfterMs) },
          during: async (baseline) => {
            holder = this.holderIn(baseline);
            await this.faults.undone(); // the last trial's node is ready again
            this.healed(holder); // the previous trial's lab is back at one responder
            fault = this.trialFault(kind, holder);
            this.progress(
              `${kind} #${n}: ${holder} holds the VIP; injecting, waiting up to ${budgetMs} ms for another node to answer`,
            );
            const at = Date.now(); // the fault's moment, unless the provider knows it better
            return (await this.inject(fault)) ?? at;
          },
        });
      } catch (e) {
        if (fault) await this.faults.undoIfActive(fault);
        fault = undefined;
        if (!(e instanceof NotSettled) || attempt >= 3) throw e;
        await this.settleHeal(); // not one stable responder yet: wait for it, then again
        await this.stableHolder();
      }
    }
    // heal: on a real CPU the node comes back while the next window starts (prober start and
    // baseline, about 0.6 s a trial); on an emulated lab first (a booting VM starves the prober).
    if (this.emulated) await this.faults.undoIfActive(fault!);
    else this.faults.undoInBackground(fault!);
    const t = analyzeTrial({
      fault: kind,
      trial: n,
      events: probe.events,
      dropped: probe.dropped,
      faultAt: probe.faultAt,
      holder,
      budgetMs,
      dadMs,
      windowMs,
      vip: this.main,
      families: { arp: this.subject.has('ipv4'), ndp: this.subject.has('ipv6'), http: this.subject.has('http') },
      excludedMacs: new Set(this.excluded.map((h) => this.switchMac(h))),
      nodeOfMac: (m) => this.nodeOfMac(m),
      silenceLimitMs: Math.max(RELAPSE_PROBES * this.probeIntervalMs, this.prober.answerTimeoutMs),
      emulated: this.emulated,
      ...(opts.stabilityMs ? { stabilityMs: opts.stabilityMs } : {}),
    });
    // heal → returns is seen by the next look at the lab: the next trial's own baseline, or settleHeal.
    const trial: Trial = {
      ...t,
      capture: probe.file,
      ...(watchAfterMs ? { watchAfterMs } : {}),
      ...(this.prober.clock ? { clockUncertaintyMs: Math.round(this.prober.clock.uncertaintyMs) } : {}),
    };
    this.healing = trial;
    return trial;
  }

  /** heal → returns for the last trial: one stable responder again (its holderAfterHeal), else the trial fails. */
  async settleHeal(): Promise<void> {
    const t = this.healing;
    if (!t) return;
    try {
      await this.stableHolder();
    } catch (e) {
      if (this.healing !== t) return;
      this.healing = undefined;
      t.problems.push(`after the fault was undone: ${(e as Error).message}`);
      t.passed = false;
    }
  }

  private healed(holder: string): void {
    if (this.healing) this.healing.holderAfterHeal = holder;
    this.healing = undefined;
  }
}

/** The baseline before a fault showed no single stable responder: nothing was injected. */
class NotSettled extends SubjectFailure {}

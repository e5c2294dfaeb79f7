// What a check gets: the lab, the subject, the VIPs, a prober on the client, fault injection
// that is always undone, and every capture of the run so far.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecResult, Fault, Provider } from '../lab/provider.ts';
import { repoRoot } from '../lab/paths.ts';
import { matches } from '../lab/selector.ts';
import { proberAddresses } from '../lab/labfile.ts';
import type { Lab, LabHost } from '../lab/types.ts';
import { failover, httpOutage, responders, splitBrainWindows } from './analyze.ts';
import type { FamilyFailover, FaultName, Trial } from './model.ts';
import type { ProbeEvent, ProbeResult } from './probe.ts';
import type { Subject } from './subject.ts';
import { render } from '../playbooks/expr.ts';

export interface Vip { service: string; labels: Record<string, string>; ipv4?: string; ipv6?: string }

export interface Progress { (message: string): void }

const PROBER_START_TIMEOUT_MS = 10_000;
// The most an injection may take (a VM powered off through virsh, a signal sent over SSH): the
// prober's own limit, reached only if the host never tells it when the window ends.
const INJECT_ALLOWANCE_MS = 15_000;
// A trial watches this long past its budget: a late responder still gets a figure, and HTTP
// (which stale-cache allows budget + 300 ms) has time to come back.
const AFTER_BUDGET_MS = 1000;

export class Context {
  readonly captures: { name: string; result: ProbeResult }[] = [];
  readonly active: Fault[] = [];
  private seq = 0;
  private remoteDirReady = false;
  private interrupted = false;
  private handshakes = 0;
  private inflight?: Promise<unknown>;
  /** The client's clock against this machine's (VM clients); undefined where they share a clock. */
  clock?: { offsetMs: number; uncertaintyMs: number };

  constructor(
    readonly lab: Lab,
    readonly provider: Provider,
    readonly subject: Subject,
    readonly vips: Vip[],
    readonly outDir: string,
    readonly probeIntervalMs: number,
    readonly progress: Progress,
  ) {
    mkdirSync(outDir, { recursive: true });
  }

  get eligible(): LabHost[] { return this.lab.nodes.filter((n) => matches(this.lab.policy.nodeSelector, n.labels)); }
  get excluded(): LabHost[] { return this.lab.nodes.filter((n) => !matches(this.lab.policy.nodeSelector, n.labels)); }
  switchMac(h: LabHost): string { return h.interfaces.find((i) => i.name === 'eth1')!.mac; }
  nodeOfMac(mac?: string): string | undefined {
    for (const h of this.lab.nodes) for (const i of h.interfaces) if (i.mac === mac) return `${h.name}${i.name === 'eth1' ? '' : `/${i.name}`}`;
    return mac;
  }
  get main(): Vip { return this.vips[0]!; }
  /** A settle probe: ten requests, every one answered by one node. */
  private get settleMs(): number { return Math.max(200, 10 * this.probeIntervalMs); }

  /**
   * The prober's own identity on the switch: the client's NIC, but another MAC and addresses
   * (host part 250), so that answers to its probes never refresh the client kernel's neighbour
   * cache — the HTTP prober then sees what a real client with a stale cache sees.
   */
  get observer(): { mac: string; ipv4: string; ipv6?: string } {
    const c = this.lab.client.interfaces.find((i) => i.name === 'eth1')!;
    return { mac: c.mac.replace(/[0-9a-f]{2}$/, 'fe'), ...proberAddresses(this.lab) };
  }

  /**
   * Runs the prober in the client for durationMs. With `during`: the fault comes once the
   * prober captures (it says so with a ready file) plus a baseline of answers, and the window
   * after the fault stays durationMs. The capture is kept unless `keep` is false.
   */
  async probe(name: string, durationMs: number, opts: { http?: boolean; vips?: Vip[]; during?: () => Promise<number | undefined | void>; keep?: boolean } = {}): Promise<{ events: ProbeEvent[]; faultAt: number; file: string }> {
    const c = this.observer;
    const keep = opts.keep ?? true;
    const file = keep ? `${String(++this.seq).padStart(3, '0')}-${name}.pcap` : '';
    const vips = opts.vips ?? [this.main]; // the scale check passes all of them
    // Before the fault: at least ten answered requests, so that the old responder is known.
    const baselineMs = opts.during ? Math.max(300, 10 * this.probeIntervalMs) : 0;
    const handshake = opts.during ? `/tmp/l2l-probe-${process.pid}-${++this.handshakes}` : undefined;
    const args = ['node', join(repoRoot, 'dist', 'probe.mjs'), // built when the suite started: no rebuild mid-run
      '--iface', 'eth1', '--mac', c.mac, '--ipv4', c.ipv4, '--ipv6', c.ipv6 ?? '::',
      ...vips.flatMap((v) => [...(v.ipv4 && this.subject.has('ipv4') ? ['--vip', v.ipv4] : []), ...(v.ipv6 && this.subject.has('ipv6') ? ['--vip', v.ipv6] : [])]),
      // With a fault, the host tells the prober when the window ends (the fault's moment is known
      // only once it is injected); --duration-ms is then only a limit.
      '--interval-ms', String(this.probeIntervalMs), '--duration-ms', String(Math.round(durationMs + (handshake ? baselineMs + INJECT_ALLOWANCE_MS : 0))),
      ...(keep ? ['--pcap', join(this.outDir, file)] : []), ...(handshake ? ['--ready-file', `${handshake}.ready`, '--end-file', `${handshake}.end`] : []),
      ...(opts.http && this.subject.has('http') && this.main.ipv4 ? ['--http', this.main.ipv4] : [])];
    // A VM client writes the capture on its own disk, at the same path; it is copied back after.
    const remote = keep && !this.provider.capabilities.sharedFilesystem;
    if (remote && !this.remoteDirReady) {
      await this.provider.exec(this.lab, this.lab.client.name, ['mkdir', '-p', this.outDir]);
      this.remoteDirReady = true;
    }
    // A VM client captures with its own clock: faults are timed on its clock too. The offset is
    // measured again before each fault (~0.7 s under emulation): an emulated guest's clock
    // drifts, and a trial is judged in ms.
    if (this.provider.clockOffset && (opts.during || !this.clock)) this.clock = await this.provider.clockOffset(this.lab, this.lab.client.name);
    const offsetUs = Math.round((this.clock?.offsetMs ?? 0) * 1000);
    const running = this.provider.exec(this.lab, this.lab.client.name, args, { timeoutMs: durationMs + baselineMs + PROBER_START_TIMEOUT_MS + INJECT_ALLOWANCE_MS + 15_000 });
    let faultAt = 0;
    if (opts.during && handshake) {
      await this.proberReady(`${handshake}.ready`, running);
      await new Promise((r) => setTimeout(r, baselineMs));
      faultAt = Date.now() * 1000 + offsetUs;
      // Where the fault's own moment is known (a signal sent over SSH lands later than it is
      // issued), the failover is timed from it.
      const endAt = (atUs: number) => this.provider.exec(this.lab, this.lab.client.name, ['sh', '-c', `printf %s ${atUs} > ${handshake}.end.tmp && mv ${handshake}.end.tmp ${handshake}.end`]);
      let effective: number | undefined | void;
      try {
        effective = await opts.during();
      } catch (e) {
        // No prober may outlive its trial: the next one would share its MAC and addresses.
        await endAt(0).catch(() => undefined);
        await running.catch(() => undefined);
        throw e;
      }
      if (typeof effective === 'number') faultAt = Math.round(effective * 1000) + offsetUs;
      await endAt(faultAt + durationMs * 1000);
    }
    const out = await running;
    if (out.exitCode !== 0) throw new Error(`the prober failed (exit ${out.exitCode}): ${out.stderr.trim()}`);
    const result = JSON.parse(out.stdout) as ProbeResult;
    if (remote) {
      if (!this.provider.copyFrom) throw new Error(`provider ${this.provider.name} cannot copy the capture back from ${this.lab.client.name}`);
      await this.provider.copyFrom(this.lab, this.lab.client.name, join(this.outDir, file), join(this.outDir, file));
      await this.provider.exec(this.lab, this.lab.client.name, ['rm', '-f', join(this.outDir, file)]);
    }
    if (faultAt && result.startedAt > faultAt) throw new Error(`the prober started ${((result.startedAt - faultAt) / 1000).toFixed(0)} ms after the fault; cannot measure this trial`);
    if (faultAt && result.endedAt < faultAt + durationMs * 1000)
      throw new Error(`the prober stopped ${((result.endedAt - faultAt) / 1000).toFixed(0)} ms after the fault, short of the ${durationMs} ms window (the injection took over ${INJECT_ALLOWANCE_MS / 1000} s?); cannot measure this trial`);
    if (keep) this.captures.push({ name: file, result });
    return { events: result.events, faultAt, file };
  }

  /** Waits, on the client, until the prober captures (its ready file exists); fails if it exits first. */
  private async proberReady(file: string, running: Promise<ExecResult>): Promise<void> {
    const wait = `i=0; while [ ! -e ${file} ]; do i=$((i+1)); [ $i -gt ${PROBER_START_TIMEOUT_MS / 10} ] && exit 1; sleep 0.01; done; rm -f ${file}`;
    const seen = this.provider.exec(this.lab, this.lab.client.name, ['sh', '-c', wait], { timeoutMs: PROBER_START_TIMEOUT_MS + 5000 });
    const r = await Promise.race([seen, running.then((p) => ({ exited: p }), (e: Error) => ({ exited: { exitCode: -1, stdout: '', stderr: e.message } }))]);
    if ('exited' in r) throw new Error(`the prober ended before it started capturing (exit ${r.exited.exitCode}): ${r.exited.stderr.trim()}`);
    if (r.exitCode !== 0) throw new Error(`the prober did not start capturing within ${PROBER_START_TIMEOUT_MS / 1000} s (no ${file} on ${this.lab.client.name})`);
  }

  /** Injects; returns when it took effect on this machine's clock (ms), where the provider knows. */
  async inject(f: Fault): Promise<number | undefined> {
    if (this.interrupted) throw new Error('interrupted: no more faults');
    this.active.push(f); // before the call: undoAll undoes it even while the call runs
    const call = this.provider.inject(this.lab, f);
    this.inflight = call.catch(() => undefined);
    return (await call)?.effectiveAtMs;
  }

  /** Ctrl-C: no fault starts from now on; undoAll then puts back what is in force. */
  interrupt(): void { this.interrupted = true; }

  async undo(f: Fault): Promise<void> {
    await this.provider.undo(this.lab, f);
    const i = this.active.indexOf(f);
    if (i >= 0) this.active.splice(i, 1);
    // heal → returns: a node that was powered off or lost its announcer is back only when the
    // subject says it is ready there (minutes on emulated VMs), not when its process started.
    if (this.subject.ready && (f.kind === 'power-off' || f.kind === 'process-stop')) await this.waitReady(f.node);
  }

  async waitReady(node: string): Promise<void> {
    const h = this.lab.nodes.find((n) => n.name === node);
    if (!h || !this.subject.ready) return;
    const cmd = String(render(this.subject.ready.command, { node, management_ipv4: h.interfaces.find((i) => i.name === 'eth0')?.ipv4 ?? '' }));
    const end = Date.now() + this.subject.ready.timeoutS * 1000;
    for (;;) {
      const r = await this.provider.exec(this.lab, node, ['sh', '-c', cmd]).catch(() => undefined);
      if (r?.exitCode === 0) return;
      if (Date.now() > end) throw new Error(`${this.subject.name} not ready on ${node} within ${this.subject.ready.timeoutS} s (ready command: ${cmd})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Undoes every fault still in force (a failed check, Ctrl-C): the lab is left as it was. */
  async undoAll(): Promise<void> {
    await this.inflight; // an injection still running would otherwise land after its undo
    for (const f of [...this.active].reverse()) {
      try { await this.undo(f); } catch (e) { this.progress(`could not undo ${f.kind} on ${f.node}: ${(e as Error).message}`); }
    }
  }

  /** Waits until anyone answers for the main VIP (a subject starting up); judges nothing. */
  async anyAnswer(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    const v = this.main.ipv4 && this.subject.has('ipv4') ? this.main.ipv4 : this.main.ipv6!;
    while (Date.now() < end) {
      const { events } = await this.probe('settle', this.settleMs, { keep: false });
      if (responders(events, v, v === this.main.ipv4 ? 'arp' : 'ndp').length) return true;
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** The node answering for the main VIP, once exactly one answers every request of a short probe. */
  async stableHolder(timeoutMs = 15_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      const { events } = await this.probe('settle', this.settleMs, { keep: false });
      const v = this.main.ipv4 && this.subject.has('ipv4') ? this.main.ipv4 : this.main.ipv6!;
      const fam = v === this.main.ipv4 ? 'arp' : 'ndp';
      const who = responders(events, v, fam);
      const reqs = events.filter((e) => e.vip === v && e.kind === (fam === 'arp' ? 'arp-request' : 'ns')).length;
      const answered = events.filter((e) => e.vip === v && e.kind === (fam === 'arp' ? 'arp-reply' : 'na')).length;
      if (who.length === 1 && answered >= reqs - 1) return this.nodeOfMac(who[0])!;
      last = who.length ? `answered by ${who.map((m) => this.nodeOfMac(m)).join(' and ')}` : 'no answer';
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no single stable responder for ${this.main.ipv4 ?? this.main.ipv6} within ${timeoutMs} ms (${last})`);
  }

  /** The subject's own record of who holds a lease (its holder command, on the control plane); '' if nobody. */
  async leaseHolder(lease: string): Promise<string> {
    const cp = this.lab.nodes.find((n) => n.role === 'control-plane')!;
    const cmd = String(render(this.subject.holder!.command, { lease, management_ipv4: cp.interfaces.find((i) => i.name === 'eth0')!.ipv4 }));
    const r = await this.provider.exec(this.lab, cp.name, ['sh', '-c', cmd]);
    if (r.exitCode !== 0) throw new Error(`the holder command failed on ${cp.name} (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim()}`);
    return r.stdout.trim();
  }

  /** Faults (provider primitives) that make up one named fault on a node. */
  faultsFor(name: FaultName, node: string): Fault[] {
    switch (name) {
      case 'power-off': return [{ kind: 'power-off', node }];
      case 'link-down': return [{ kind: 'link-down', node, iface: 'eth1' }];
      case 'network-off': return [{ kind: 'link-down', node, iface: 'eth1' }, { kind: 'link-down', node, iface: 'eth0' }];
      case 'process-stop': return [{ kind: 'process-stop', node, process: this.subject.service, signal: 'KILL' }];
      case 'graceful-stop': return [{ kind: 'process-stop', node, process: this.subject.service, signal: 'TERM' }];
      case 'pause': return [{ kind: 'pause', node, process: this.subject.service }];
    }
  }

  /** break → moves → heal: one failover trial of a fault on the current holder, measured from the client. */
  async trial(fault: FaultName, n: number, opts: { holdMs?: number } = {}): Promise<Trial> {
    const holder = (await this.stableHolder()).split('/')[0]!;
    const budget = this.subject.budgetMs(fault);
    const faults = this.faultsFor(fault, holder);
    this.progress(`${fault} #${n}: ${holder} holds the VIP; injecting, waiting up to ${budget} ms for another node to answer`);
    const window = budget + (opts.holdMs ?? 0) + AFTER_BUDGET_MS;
    // The client's neighbour entry must point at the current holder when the fault hits (it may
    // still name a former holder, whose node serves the VIP too): resolve it afresh now, then
    // never touch it again — what follows is what a client with a stale cache sees.
    for (const ip of [this.main.ipv4, this.main.ipv6].filter(Boolean))
      await this.provider.exec(this.lab, this.lab.client.name, ['ip', 'neigh', 'del', ip!, 'dev', 'eth1']);
    let probe: Awaited<ReturnType<Context['probe']>>;
    try {
      probe = await this.probe(`${fault}-${n}`, window, { http: true, during: async () => {
        let first: number | undefined;
        for (const f of faults) { const at = await this.inject(f); first ??= at; }
        return first;
      } });
    } finally {
      for (const f of [...faults].reverse()) if (this.active.includes(f)) await this.undo(f);
    }
    const { events, faultAt, file } = probe;
    const problems: string[] = [];
    const fam = (family: 'arp' | 'ndp', vip?: string): FamilyFailover | undefined => {
      if (!vip) return undefined;
      const fo = failover(events, vip, family, faultAt);
      const r: FamilyFailover = {
        oldNode: this.nodeOfMac(fo.oldMac), newNode: this.nodeOfMac(fo.newMac), oldMac: fo.oldMac, newMac: fo.newMac,
        takeoverMs: fo.firstNew !== undefined ? (fo.firstNew - faultAt) / 1000 : undefined, outageMs: fo.outageMs,
        announceMs: fo.announcedAt !== undefined ? (fo.announcedAt - faultAt) / 1000 : undefined,
        splitBrainWindows: splitBrainWindows(events, vip, family).length,
      };
      const label = family.toUpperCase();
      if (r.oldNode !== holder) problems.push(`${label}: ${holder} was not answering before the fault (${r.oldNode ?? 'nobody'} was)`);
      if (r.takeoverMs === undefined) problems.push(`${label}: no other node answered within ${window} ms (budget ${budget} ms)`);
      else if (r.takeoverMs > budget) problems.push(`${label}: new responder after ${r.takeoverMs.toFixed(0)} ms, budget ${budget} ms`);
      if (r.splitBrainWindows) problems.push(`${label}: ${r.splitBrainWindows} probe windows with two MACs answering`);
      return r;
    };
    const arp = this.subject.has('ipv4') ? fam('arp', this.main.ipv4) : undefined;
    const ndp = this.subject.has('ipv6') ? fam('ndp', this.main.ipv6) : undefined;
    const excludedMacs = new Set(this.excluded.map((h) => this.switchMac(h)));
    const excludedAnswered = events.some((e) => (e.kind === 'arp-reply' || e.kind === 'na') && excludedMacs.has(e.mac!));
    if (excludedAnswered) problems.push('a node excluded by the policy answered');
    const http = this.subject.has('http') && this.main.ipv4 ? httpOutage(events, this.main.ipv4, faultAt) : undefined;
    let holderAfterHeal: string | undefined;
    try { holderAfterHeal = await this.stableHolder(); } catch (e) { problems.push(`after the fault was undone: ${(e as Error).message}`); }
    return { fault, trial: n, holderAfterHeal, faultAt: new Date(faultAt / 1000).toISOString(), budgetMs: budget, arp, ndp, http, excludedAnswered, passed: problems.length === 0, problems, capture: file,
      ...(this.clock ? { clockUncertaintyMs: Math.round(this.clock.uncertaintyMs) } : {}) };
  }
}

// The prober from the host's side: runs dist/probe.mjs in the client for one window, with
// the fault (if any) injected once it captures plus a baseline, and keeps every capture.

import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { labProberAddresses, PROBER_HOST_PARTS, proberAddresses, proberMac } from '../lab/addresses.ts';
import { domainOf, ifaceOf, switchNic } from '../lab/hosts.ts';
import { repoRoot } from '../lab/paths.ts';
import type { ExecResult, Provider } from '../lab/provider.ts';
import { shq } from '../lab/quote.ts';
import type { Lab } from '../lab/types.ts';
import { HOSTNAME } from '../playbooks/cluster/manifests.ts';
import { eventsFileOf } from '../results/folder.ts';
import type { Vip } from './addresses/index.ts';
import { BASELINE_STALL_MS, type Family, rotationProblem } from './analyze.ts';
import type { Baseline, ProbeEvent, ProbeResult } from './events.ts';
import { InterruptedError } from './fault-session.ts';
import { linkLocalOf } from './frames.ts';

const PROBER_START_TIMEOUT_MS = 10_000;
// The most an injection may take (a VM powered off through virsh, a signal sent over SSH, a
// graceful stop that waits for the service to exit: up to its STOP_TIMEOUT, Pacemaker's 45 s):
// the prober's own limit, reached only if the host never tells it when the window ends.
const INJECT_ALLOWANCE_MS = 60_000;

export interface ProbeOptions {
  /** The families and HTTP to probe: what the subject claims. */
  ipv4: boolean;
  ipv6: boolean;
  http?: string; // the VIP to GET, if any
  vips: Vip[];
  /** The client's NIC to probe from (default: its lab-switch NIC): another L2 domain's. */
  iface?: string;
  /**
   * The fault: called once the prober has captured a baseline (who answered so far); returns
   * its effective moment (ms, this machine's clock) where known.
   */
  during?: (baseline: Baseline) => Promise<unknown>;
  /** How long `during` itself may take (a fault held for a while before it is undone), beyond the usual allowance. */
  duringMs?: number;
  /** End the window shortly (tailMs) after the failover has played out, instead of at its limit. */
  settle?: { announce: Family[]; tailMs: number; anyone?: boolean };
  /** false: a settle probe, not kept as a capture. */
  keep?: boolean;
  /** No ARP/NDP requests: only the capture and HTTP (an answer would refresh an ageing switch's table). */
  listenOnly?: boolean;
  /** A longer interval than the run's (ms): hundreds of VIPs each asked every round. */
  intervalMs?: number;
}

/**
 * Each answer names its request by the address it goes to: an address may come round again only
 * after the answer timeout (prober-process.ts refuses otherwise). What is wrong with this interval, if anything.
 */
export function probeTimingProblem(
  intervalMs: number,
  answerTimeoutMs: number,
  sources: number = PROBER_HOST_PARTS.last - PROBER_HOST_PARTS.first + 1,
): string | undefined {
  if (!rotationProblem(sources, intervalMs, answerTimeoutMs)) return undefined;
  return (
    `--probe-interval ${intervalMs} ms is too short for an answer timeout of ${answerTimeoutMs} ms: the prober's ${sources} ` +
    `addresses would come round before an answer is due; use --probe-interval ${Math.ceil(answerTimeoutMs / (sources - 1))} or more`
  );
}

/** How many addresses the prober rotates over on a lab: host parts 224-254, or as many as a hosts file gives (the fewer family's). */
export function proberSources(lab: Lab): number | undefined {
  const p = lab.hosts?.prober;
  if (!p) return undefined;
  return Math.min(...[p.ipv4.length, p.ipv6.length].filter((n) => n > 0));
}

/** The prober cannot run as asked (bad input): named apart from a subject's failure. */
export class ProbeSetupError extends Error {}

export interface Window {
  events: ProbeEvent[];
  faultAt: number;
  file: string;
  /** Frames libpcap dropped (kernel and interface): answers may be missing from events. */
  dropped: number;
}

export class Prober {
  readonly captures: { name: string; result: ProbeResult }[] = [];
  private seq = 0;
  private remoteDirReady = false;
  private handshakes = 0;
  private interrupted = false;
  private endNow?: () => Promise<unknown>;
  /** The client's clock against this machine's (VM clients); undefined where they share a clock. */
  clock?: { offsetMs: number; uncertaintyMs: number };

  constructor(
    readonly lab: Lab,
    readonly provider: Provider,
    readonly outDir: string,
    readonly intervalMs: number,
    /** How long an answer (ARP/NDP reply, HTTP response) may take and still count (emulated VMs answer slower). */
    readonly answerTimeoutMs = 150,
  ) {
    const problem = probeTimingProblem(intervalMs, answerTimeoutMs, proberSources(lab));
    if (problem) throw new ProbeSetupError(problem);
    mkdirSync(outDir, { recursive: true }); // captures go here
  }

  /**
   * The prober's own identity on the switch: the client's NIC, but another MAC and addresses
   * (host parts 224-254, one per round in turn), so that answers to its probes never refresh the
   * client kernel's neighbour cache — the HTTP prober then sees what a real client with a stale
   * cache sees — and each answer names its request by the address it goes to.
   */
  get observer(): { mac: string; ipv4: string[]; ipv6: string[] } {
    return this.observerOn(switchNic(this.lab.client).name);
  }

  /** The prober's identity on one of the client's NICs: in another L2 domain, host parts 224-254 of its subnets. */
  observerOn(iface: string): { mac: string; ipv4: string[]; ipv6: string[] } {
    const nic = ifaceOf(this.lab.client, iface);
    const d = domainOf(this.lab, nic);
    const own = d ? proberAddresses({ switch: d }) : labProberAddresses(this.lab);
    return { mac: proberMac(nic.mac), ...own };
  }

  /** ADDRESS=MAC for each node's switch addresses (IPv4, IPv6, EUI-64 link-local): VRRP advertisements name their sender by these. */
  get vrrpSources(): string[] {
    return this.lab.nodes.flatMap((n) => {
      const nic = switchNic(n);
      return [nic.ipv4, nic.ipv6, linkLocalOf(nic.mac)].filter(Boolean).map((a) => `${a}=${nic.mac}`);
    });
  }

  /** Ctrl-C: the window open now ends at once, and no other starts. */
  interrupt(): void {
    this.interrupted = true;
    void this.endNow?.().catch(() => undefined);
  }

  /** Before a fault: at least ten answered requests, so that the old responder is known. */
  get baselineMs(): number {
    return Math.max(200, 10 * this.intervalMs);
  }

  /**
   * Runs the prober for durationMs. With `during`: the fault comes once the prober captures
   * (it says so with a ready file) plus a baseline, and the window after the fault stays durationMs.
   */
  async probe(name: string, durationMs: number, o: ProbeOptions): Promise<Window> {
    if (this.interrupted) throw new InterruptedError();
    const iface = o.iface ?? switchNic(this.lab.client).name;
    const c = this.observerOn(iface);
    const keep = o.keep ?? true;
    const file = keep ? `${String(++this.seq).padStart(3, '0')}-${name}.pcap` : '';
    const baselineMs = o.during ? this.baselineMs : 0;
    // Where the prober runs on the client: this checkout's, or l2lab's directory on a machine it did not build.
    const at = this.provider.machinePaths?.(this.lab) ?? { node: 'node', root: repoRoot, tmp: '/tmp' };
    const handshake = o.during ? `${at.tmp}/l2l-probe-${process.pid}-${++this.handshakes}` : undefined;
    // A client with its own files writes the capture there (the checkout's path on VMs), copied back after.
    const remote = keep && !this.provider.capabilities.sharedFilesystem;
    const capture = remote && this.provider.machinePaths ? join(at.tmp, file) : join(this.outDir, file);
    // A prober that has already ended never reads (and removes) the end file the host writes.
    const dropEnd = async () => {
      if (handshake)
        await this.provider
          .exec(this.lab, this.lab.client.name, ['rm', '-f', `${handshake}.end`, `${handshake}.end.tmp`])
          .catch(() => undefined);
    };
    const args = [
      at.node,
      join(at.root, 'dist', 'probe.mjs'), // built before the suite: no rebuild mid-run
      '--iface',
      iface,
      '--mac',
      c.mac,
      ...c.ipv4.flatMap((a) => ['--ipv4', a]),
      ...c.ipv6.flatMap((a) => ['--ipv6', a]),
      ...o.vips.flatMap((v) => [
        ...(v.ipv4 && o.ipv4 ? ['--vip', v.ipv4] : []),
        ...(v.ipv6 && o.ipv6 ? ['--vip', v.ipv6] : []),
      ]),
      // With a fault, the host tells the prober when the window ends (the fault's moment is known
      // only once it is injected); --duration-ms is then only a limit.
      '--interval-ms',
      String(Math.max(this.intervalMs, o.intervalMs ?? 0)),
      '--duration-ms',
      String(Math.round(durationMs + (handshake ? baselineMs + INJECT_ALLOWANCE_MS + (o.duringMs ?? 0) : 0))),
      ...(keep ? ['--pcap', capture] : []),
      ...(handshake
        ? [
            '--baseline-file',
            `${handshake}.baseline`,
            '--baseline-ms',
            String(baselineMs),
            '--end-file',
            `${handshake}.end`,
          ]
        : []),
      ...(handshake && o.settle
        ? [
            '--settle-tail-ms',
            String(o.settle.tailMs),
            '--announce',
            o.settle.announce.join(','),
            ...(o.settle.anyone ? ['--settle-anyone'] : []),
          ]
        : []),
      ...(o.listenOnly ? ['--listen-only'] : []),
      '--answer-timeout-ms',
      String(this.answerTimeoutMs),
      ...(o.http ? ['--http', o.http, '--http-host', HOSTNAME, '--http-timeout-ms', String(this.answerTimeoutMs)] : []),
      ...this.vrrpSources.flatMap((s) => ['--vrrp-source', s]),
    ];
    if (remote && !this.remoteDirReady) {
      await this.provider.exec(this.lab, this.lab.client.name, ['mkdir', '-p', dirname(capture)]);
      this.remoteDirReady = true;
    }
    // A VM client captures with its own clock: faults are timed on its clock too. The offset is
    // measured again before each fault (~0.7 s under emulation): an emulated guest's clock
    // drifts, and a trial is judged in ms.
    if (this.provider.clockOffset && (o.during || !this.clock))
      this.clock = await this.provider.clockOffset(this.lab, this.lab.client.name);
    const offsetUs = Math.round((this.clock?.offsetMs ?? 0) * 1000);
    const running = this.provider.exec(this.lab, this.lab.client.name, args, {
      timeoutMs: durationMs + baselineMs + PROBER_START_TIMEOUT_MS + INJECT_ALLOWANCE_MS + (o.duringMs ?? 0) + 15_000,
    });
    let faultAt = 0;
    if (o.during && handshake) {
      const baseline = await this.baseline(`${handshake}.baseline`, running, baselineMs);
      faultAt = Date.now() * 1000 + offsetUs;
      // Where the fault's own moment is known (a signal sent over SSH lands later than it is
      // issued), the failover is timed from it.
      // "END [FAULT]": the window ends at END, or once the failover after FAULT has played out.
      const endAt = (atUs: number, faultUs?: number) =>
        this.provider.exec(this.lab, this.lab.client.name, [
          'sh',
          '-c',
          `printf '%s' '${atUs}${faultUs === undefined ? '' : ` ${faultUs}`}' > ${shq(`${handshake}.end.tmp`)} && mv ` +
            `${shq(`${handshake}.end.tmp`)} ${shq(`${handshake}.end`)}`,
        ]);
      this.endNow = () => endAt(0);
      let effective: unknown;
      try {
        effective = await o.during(baseline);
      } catch (e) {
        // No prober may outlive its trial: the next one would share its MAC and addresses. The
        // window is discarded, capture and all.
        await endAt(0).catch(() => undefined);
        await running.catch(() => undefined);
        await dropEnd();
        if (keep)
          await (remote
            ? this.provider.exec(this.lab, this.lab.client.name, ['rm', '-f', capture])
            : rm(join(this.outDir, file), { force: true }));
        throw e;
      }
      if (typeof effective === 'number') faultAt = Math.round(effective * 1000) + offsetUs;
      if (!this.interrupted) await endAt(faultAt + durationMs * 1000, o.settle ? faultAt : undefined);
    }
    const out = await running.finally(() => {
      this.endNow = undefined;
    });
    if (this.interrupted) {
      await dropEnd(); // Ctrl-C's end file may come after the prober had read the window's end (a CI run left one)
      throw new InterruptedError();
    }
    if (out.exitCode !== 0) throw new Error(`the prober failed (exit ${out.exitCode}): ${out.stderr.trim()}`);
    const result = JSON.parse(out.stdout) as ProbeResult;
    if (remote) {
      if (!this.provider.copyFrom)
        throw new Error(`provider ${this.provider.name} cannot copy the capture back from ${this.lab.client.name}`);
      await this.provider.copyFrom(this.lab, this.lab.client.name, capture, join(this.outDir, file));
      await this.provider.exec(this.lab, this.lab.client.name, ['rm', '-f', capture]);
    }
    if (faultAt && result.startedAt > faultAt)
      throw new Error(
        `the prober started ${((result.startedAt - faultAt) / 1000).toFixed(0)} ms after the fault; cannot measure this trial`,
      );
    if (faultAt && result.ended === 'limit') {
      await dropEnd();
      throw new Error(
        `the prober stopped ${((result.endedAt - faultAt) / 1000).toFixed(0)} ms after the fault, short of the ${durationMs} ms window ` +
          `(the injection took over ${INJECT_ALLOWANCE_MS / 1000} s?); cannot measure this trial`,
      );
    }
    if (keep) {
      // Beside the .pcap, what the suite read from it: every event (each answer naming its
      // request), why the capture ended, and libpcap's counts of frames received and dropped.
      writeFileSync(join(this.outDir, eventsFileOf(file)), `${JSON.stringify(result)}\n`);
      this.captures.push({ name: file, result });
    }
    return { events: result.events, faultAt, file, dropped: result.stats.dropped + result.stats.ifDropped };
  }

  /**
   * Waits, on the client, until the prober has a baseline (its baseline file exists) and reads it;
   * fails if the prober exits first.
   */
  private async baseline(file: string, running: Promise<ExecResult>, baselineMs: number): Promise<Baseline> {
    // The prober waits for its requests' answers before it writes the baseline (prober-process.ts).
    const limit = (PROBER_START_TIMEOUT_MS + baselineMs + this.answerTimeoutMs + BASELINE_STALL_MS) / 10;
    const wait =
      `i=0; while [ ! -e ${shq(file)} ]; do i=$((i+1)); [ $i -gt ${limit} ] && exit 1; sleep 0.01; done; cat ${shq(file)}; ` +
      `rm -f ${shq(file)}`;
    const seen = this.provider.exec(this.lab, this.lab.client.name, ['sh', '-c', wait], {
      timeoutMs: PROBER_START_TIMEOUT_MS + baselineMs + this.answerTimeoutMs + BASELINE_STALL_MS + 5000,
    });
    const r = await Promise.race([
      seen,
      running.then(
        (p) => ({ exited: p }),
        (e: Error) => ({ exited: { exitCode: -1, stdout: '', stderr: e.message } }),
      ),
    ]);
    if ('exited' in r)
      throw new Error(
        `the prober ended before it had a baseline (exit ${r.exited.exitCode}): ${r.exited.stderr.trim()}`,
      );
    if (r.exitCode !== 0)
      throw new Error(
        `the prober did not start capturing within ${PROBER_START_TIMEOUT_MS / 1000} s (no ${file} on ${this.lab.client.name})`,
      );
    return JSON.parse(r.stdout) as Baseline;
  }
}

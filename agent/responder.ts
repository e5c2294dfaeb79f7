// Answers ARP requests and neighbour solicitations for the VIPs this node holds, on one
// interface, from user space (libpcap): the kernel never answers for VIPs (they sit on lo,
// and arp_ignore=1 keeps ARP for them off the wire). Sends gratuitous ARP / unsolicited NA
// bursts on takeover so that clients update their caches at once.

import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import pcap from 'pcap';
import type { Log } from './log.ts';
import type { Metrics } from './metrics.ts';
import {
  arpReply,
  FULL_NA,
  gratuitousArp,
  ipv6Bytes,
  type NaShape,
  neighborAdvert,
  parseFrame,
  unsolicitedNeighborAdvert,
} from './packets.ts';

export class Responder {
  readonly mac: string;
  private session?: InstanceType<typeof pcap.PcapSession>;
  /** VIP → whether we may answer for it right now (the lease is still ours; see claim). */
  /** Per VIP, the services that claim it and whether each may answer now: while any may, it is answered. */
  private readonly active = new Map<string, Map<string, () => boolean>>();
  private mayAnswer(vip: string): boolean {
    for (const valid of this.active.get(vip)?.values() ?? []) if (valid()) return true;
    return false;
  }
  private timers = new Set<NodeJS.Timeout>();

  constructor(
    readonly iface: string,
    private readonly metrics: Metrics,
    private readonly log: Log,
    private readonly answerDelayMs = 0,
    private readonly naShape: NaShape = FULL_NA,
    /** Join each held IPv6 VIP's solicited-node group on the interface (off only in a broken fixture). */
    private readonly joinGroups = true,
    /** One gratuitous ARP / NA per held VIP this often (0: never): keeps an ageing switch's entry for this port. */
    private readonly refreshMs = 0,
    /** Senders whose requests go unanswered (a broken fixture's). */
    private readonly ignoreSenders: ReadonlySet<string> = new Set(),
  ) {
    this.mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
  }

  private refreshTimer?: NodeJS.Timeout;
  private refresh(): void {
    const held = [...this.active.keys()].filter((v) => this.mayAnswer(v));
    for (const v of held) {
      this.send(isIPv4(v) ? gratuitousArp(this.mac, v) : unsolicitedNeighborAdvert(this.mac, v, this.naShape));
      this.metrics.gratuitous.inc({ interface: this.iface, protocol: isIPv4(v) ? 'arp' : 'ndp' });
    }
    if (held.length) this.log('gratuitous_refresh', { interface: this.iface, vips: held });
  }

  /**
   * A switch that snoops MLD forwards a neighbour solicitation only to ports that joined the
   * target's solicited-node group (RFC 4861 §7.2.1): a VIP on lo is joined on lo, not here, so the
   * announcer joins it on its interface itself while it holds the VIP (as Cilium does since #46332).
   */
  private groups?: Socket;
  private readonly joined = new Set<string>();
  private setMembership(vip: string, join: boolean): void {
    if (!this.joinGroups || isIPv4(vip) || this.joined.has(vip) === join) return;
    const group = solicitedNodeGroup(vip);
    try {
      if (join) {
        this.groups?.addMembership(group, `::%${this.iface}`);
        this.joined.add(vip);
      } else {
        this.groups?.dropMembership(group, `::%${this.iface}`);
        this.joined.delete(vip);
      }
      this.log(join ? 'group_joined' : 'group_left', { interface: this.iface, vip, group });
    } catch (e) {
      this.log('group_failed', { interface: this.iface, vip, group, error: (e as Error).message });
    }
  }

  start(): void {
    // Memberships need no bound port: libuv binds the socket to [::]:0 on the first one.
    if (this.joinGroups) this.groups = createSocket({ type: 'udp6' });
    this.open();
    if (this.refreshMs > 0) this.refreshTimer = setInterval(() => this.refresh(), this.refreshMs);
  }

  /**
   * The capture handle dies with its interface: set down (`ip link set down`, not a lost cable),
   * libpcap reports "The interface went down" and the handle reads nothing more. A new one, once
   * the interface is back (the speaker calls this on link up).
   */
  reopen(): void {
    try {
      this.session?.close();
    } catch {
      /* already dead */
    }
    this.session = undefined;
    this.open();
    this.log('capture_reopened', { interface: this.iface });
  }

  private open(): void {
    // Immediate mode (timeout 0): each request is handled as it arrives, not in batches.
    this.session = new pcap.PcapSession(
      true,
      this.iface,
      'arp or (icmp6 and ip6[40] == 135)',
      1 << 20,
      256,
      '',
      false,
      0,
      true,
    );
    // node_pcap copies each frame into one buffer: only its first caplen bytes are this frame's.
    this.session.on('packet', (p) => this.onFrame(p.buf.subarray(0, p.header.readUInt32LE(8))));
  }

  private onFrame(buf: Buffer): void {
    const f = parseFrame(buf);
    if (!f || f.srcMac === this.mac) return; // our own frames, seen on the way out
    if (this.ignoreSenders.has(f.kind === 'arp' ? f.senderIp : f.kind === 'ns' ? f.srcIp : '')) return;
    let vip: string, reply: Buffer, protocol: 'arp' | 'ndp';
    if (f.kind === 'arp' && f.op === 1 && f.senderIp !== f.targetIp) {
      // (sender = target: someone's gratuitous ARP)
      [vip, protocol] = [f.targetIp, 'arp'];
      if (!this.active.has(vip)) return;
      reply = arpReply(this.mac, vip, f.senderMac, f.senderIp);
    } else if (f.kind === 'ns') {
      [vip, protocol] = [f.target, 'ndp'];
      if (!this.active.has(vip)) return;
      reply = neighborAdvert(this.mac, vip, f.sourceLinkAddr ?? f.srcMac, f.srcIp);
    } else return;
    const answer = () => {
      // Asked last, right before the send: a process stopped (SIGSTOP) between deciding and
      // sending sends a stale answer when it resumes, so that gap is kept to the send call itself.
      if (!this.mayAnswer(vip)) return;
      this.send(reply);
      this.metrics.requests.inc({ interface: this.iface, protocol });
      this.metrics.responses.inc({ interface: this.iface, protocol });
    };
    if (!this.answerDelayMs) {
      answer();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      answer();
    }, this.answerDelayMs);
    this.timers.add(t);
  }

  private send(frame: Buffer): void {
    try {
      this.session?.inject(frame);
    } catch (e) {
      this.log('inject_failed', { interface: this.iface, error: (e as Error).message });
    }
  }

  /**
   * Starts answering for these VIPs, and tells the segment: count gratuitous messages, interval apart.
   * `valid` is asked before every answer: a process that was stopped (SIGSTOP) or starved past
   * its renew deadline must not answer the requests that queued up meanwhile, even before its
   * own deadline timer has run.
   */
  claim(vips: string[], count: number, intervalMs: number, service: string, valid: () => boolean = () => true): void {
    for (const v of vips) {
      this.active.set(v, (this.active.get(v) ?? new Map()).set(service, valid));
      this.setMembership(v, true);
    }
    const burst = (n: number) => {
      const still = vips.filter((v) => this.mayAnswer(v));
      if (!still.length) return;
      for (const v of still) {
        this.send(isIPv4(v) ? gratuitousArp(this.mac, v) : unsolicitedNeighborAdvert(this.mac, v, this.naShape));
        this.metrics.gratuitous.inc({ interface: this.iface, protocol: isIPv4(v) ? 'arp' : 'ndp' });
      }
      this.log('gratuitous_sent', { service, interface: this.iface, vips: still, n: n + 1, of: count });
      if (n + 1 < count) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          burst(n + 1);
        }, intervalMs);
        this.timers.add(t);
      }
    };
    if (count > 0) burst(0);
  }

  /** Stops answering for these VIPs at once, as far as this service claimed them (another may still). */
  drop(vips: string[], service: string): void {
    for (const v of vips) {
      const claims = this.active.get(v);
      claims?.delete(service);
      if (!claims?.size) {
        this.active.delete(v);
        this.setMembership(v, false);
      }
    }
  }

  close(): void {
    clearInterval(this.refreshTimer);
    for (const v of [...this.joined]) this.setMembership(v, false);
    this.groups?.close();
    this.active.clear();
    for (const t of this.timers) clearTimeout(t);
    this.session?.close();
  }
}

/** The solicited-node multicast group of an IPv6 address (RFC 4291 §2.7.1): ff02::1:ff and its last 24 bits. */
export function solicitedNodeGroup(ip: string): string {
  const b = ipv6Bytes(ip);
  return `ff02::1:ff${b[13]!.toString(16).padStart(2, '0')}:${((b[14]! << 8) | b[15]!).toString(16)}`;
}

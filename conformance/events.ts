// What the prober reports: every request it sent and every answer or announcement it saw.
export interface ProbeEvent {
  t: number; // µs since the epoch, client clock (pcap timestamp for captured frames)
  kind: 'arp-request' | 'ns' | 'arp-reply' | 'na' | 'garp' | 'unsolicited-na' | 'http-ok' | 'http-fail' | 'vrrp';
  vip: string;
  /** Who answered / announced / advertised: a node's own MAC, also where the wire carried a shared virtual MAC. */
  mac?: string;
  node?: string; // http-ok: the node whose backend answered
  /** An answer to the client's own kernel (its HTTP traffic), not to the prober's request. */
  forClient?: true;
  /** The frame's own MAC where it differs from `mac`: a VRRP virtual MAC (00:00:5e:00:01:XX, …:02:XX) several nodes share. */
  wireMac?: string;
  /**
   * arp-request, ns: the request's number in its capture (each is unique there). arp-reply, na:
   * the request it answers, told by content (analyze.ts Attributor), absent where none matches.
   */
  req?: number;
  /**
   * arp-request, ns: the prober's address it was sent from (one of several it rotates over);
   * vrrp: the advertisement's IP source.
   */
  src?: string;
  /** arp-reply, na: the address the answer was sent to (the request's source, RFC 826, RFC 4861 §7.2.4). */
  dst?: string;
  /**
   * na, unsolicited-na: the Override flag, and whether the target link-layer address option came
   * with it: without them a receiver's neighbour cache keeps the old MAC (RFC 4861 §7.2.5-7.2.6).
   */
  override?: boolean;
  tlla?: boolean;
  /** vrrp: priority (0: the master resigns) and advertised interval. */
  priority?: number;
  intervalMs?: number;
}

export interface ProbeResult {
  iface: string;
  intervalMs: number;
  startedAt: number;
  endedAt: number;
  events: ProbeEvent[];
  /** Why the capture ended: its duration, the host's end time, a failover played out, or its limit (no end time came). */
  ended: 'duration' | 'end' | 'settled' | 'limit';
  /** How many addresses the prober's requests rotated over (each answer names its request by them). */
  sources: number;
  /** libpcap's counts at the end (pcap_stats): frames the kernel passed and dropped; a capture with drops may miss answers. */
  stats: CaptureStats;
}

export interface CaptureStats {
  received: number;
  dropped: number;
  ifDropped: number;
}

/** Per VIP, after the baseline: the MACs that answered, requests sent, answers seen. */
export interface Baseline {
  [vip: string]: { responders: string[]; requests: number; answers: number };
}

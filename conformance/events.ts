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
  /** vrrp: the advertisement's IP source, priority (0: the master resigns) and advertised interval. */
  src?: string;
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
}

/** Per VIP, after the baseline: the MACs that answered, requests sent, answers seen. */
export interface Baseline {
  [vip: string]: { responders: string[]; requests: number; answers: number };
}

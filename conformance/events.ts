// What the prober reports: every request it sent and every answer or announcement it saw.
export interface ProbeEvent {
  t: number; // µs since the epoch, client clock (pcap timestamp for captured frames)
  kind: 'arp-request' | 'ns' | 'arp-reply' | 'na' | 'garp' | 'unsolicited-na' | 'http-ok' | 'http-fail';
  vip: string;
  mac?: string; // who answered / announced
  node?: string; // http-ok: the node whose backend answered
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

// A small Prometheus registry (text exposition format 0.0.4): counters, gauges and a summary,
// with labels. Names follow MetalLB's speaker where they mean the same.
type Labels = Record<string, string>;
const key = (l: Labels) =>
  Object.entries(l)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`)
    .join(',');

class Family {
  readonly values = new Map<string, { labels: Labels; value: number; sum?: number; count?: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'summary',
  ) {}
  private entry(l: Labels) {
    const k = key(l);
    let e = this.values.get(k);
    if (!e) {
      e = { labels: l, value: 0, sum: 0, count: 0 };
      this.values.set(k, e);
    }
    return e;
  }
  inc(l: Labels = {}, by = 1): void {
    this.entry(l).value += by;
  }
  set(l: Labels, v: number): void {
    this.entry(l).value = v;
  }
  observe(l: Labels, v: number): void {
    const e = this.entry(l);
    e.sum! += v;
    e.count! += 1;
    e.value = v;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const e of this.values.values()) {
      const l = key(e.labels);
      if (this.type === 'summary') {
        lines.push(
          `${this.name}_sum${l ? `{${l}}` : ''} ${e.sum}`,
          `${this.name}_count${l ? `{${l}}` : ''} ${e.count}`,
        );
      } else lines.push(`${this.name}${l ? `{${l}}` : ''} ${e.value}`);
    }
    return lines.join('\n');
  }
}

export class Metrics {
  private readonly families: Family[] = [];
  private add(name: string, help: string, type: Family['type']): Family {
    const f = new Family(name, help, type);
    this.families.push(f);
    return f;
  }

  readonly leader = this.add(
    'l2lab_announcer_leader',
    "1 while this node holds the service's lease and answers for its VIPs",
    'gauge',
  );
  readonly transitions = this.add(
    'l2lab_announcer_lease_transitions_total',
    "times this node took a service's lease",
    'counter',
  );
  readonly stepDowns = this.add(
    'l2lab_announcer_lease_lost_total',
    'times this node stopped leading a service, by reason',
    'counter',
  );
  readonly renewLatency = this.add(
    'l2lab_announcer_renew_latency_seconds',
    'duration of successful lease renewals',
    'summary',
  );
  readonly storeErrors = this.add('l2lab_announcer_store_errors_total', 'failed calls to the lease store', 'counter');
  readonly clientWait = this.add(
    'l2lab_announcer_client_rate_limiter_wait_seconds_total',
    "time lease calls waited for the client's rate limit (store.qps, store.burst)",
    'counter',
  );
  readonly requests = this.add(
    'l2lab_announcer_requests_received_total',
    'ARP requests and neighbour solicitations received for announced VIPs (as metallb_layer2_requests_received)',
    'counter',
  );
  readonly responses = this.add(
    'l2lab_announcer_responses_sent_total',
    'ARP replies and neighbour advertisements sent (as metallb_layer2_responses_sent)',
    'counter',
  );
  readonly gratuitous = this.add(
    'l2lab_announcer_gratuitous_sent_total',
    'gratuitous ARP and unsolicited neighbour advertisements sent (as metallb_layer2_gratuitous_sent)',
    'counter',
  );
  readonly linkUp = this.add('l2lab_announcer_interface_up', '1 while an announcing interface has carrier', 'gauge');

  render(): string {
    return `${this.families.map((f) => f.render()).join('\n')}\n`;
  }
}

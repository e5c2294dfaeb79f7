// The client-side prober: runs inside the client's network namespace (or on the client VM).
// Sends its own ARP requests / neighbour solicitations for every VIP at a fixed interval on one
// libpcap handle and captures on another (µs timestamps, immediate mode): the kernel hands a
// packet socket's own frames to every other one, so each request is stamped by the capture as it
// leaves, on the same clock as its answers, and written to the .pcap with them. Each round of
// requests goes out from the next of the --ipv4/--ipv6 addresses (the prober's own, reserved in the
// lab file), so that every answer names its request by the address it is sent to (analyze.ts
// Attributor). Reports every request and answer (and gratuitous ARP / unsolicited NA, VRRP
// advertisements) as JSON on stdout; optionally writes the capture as a .pcap file.
//   node dist/probe.mjs --iface eth1 --mac M --ipv4 A [--ipv4 …] --ipv6 B [--ipv6 …] --vip V [--vip …] --interval-ms 20
// --duration-ms 5000 [--pcap FILE] [--baseline-file FILE] [--end-file FILE]
// --duration-ms counts from when it captures.
// --end-file: once it appears, holding a time (µs since the epoch, this clock), the capture ends
// then instead (the window after a fault is counted from the fault, known only once injected).
// A second time in it is the fault's: with --settle-tail-ms the capture ends that long after the
// failover has played out (analyze.ts settledAt; --announce, --http; --settle-anyone: answered
// again by anyone, the last responder too), if that comes first.
// --baseline-file: written once --baseline-ms of requests have had --answer-timeout-ms to be
// answered, with who answered each VIP so far (the host injects the fault on that node).

import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { isIPv4 } from 'node:net';
import { parseArgs } from 'node:util';
import pcap from 'pcap';
import { Attributor, BASELINE_STALL_MS, baselineOf, rotationProblem, settledAt } from './analyze.ts';
import type { ProbeEvent, ProbeResult } from './events.ts';
import { arpProbe, nsProbe, readFrame } from './frames.ts';
import { attributeVirtualMacs, isVirtualMac } from './vrrp.ts';

export type { ProbeEvent, ProbeResult } from './events.ts';

const { values } = parseArgs({
  options: {
    iface: { type: 'string' },
    mac: { type: 'string' },
    ipv4: { type: 'string', multiple: true }, // the prober's own addresses, one per round in turn
    ipv6: { type: 'string', multiple: true },
    vip: { type: 'string', multiple: true },
    'interval-ms': { type: 'string', default: '20' },
    'duration-ms': { type: 'string' },
    pcap: { type: 'string' },
    'end-file': { type: 'string' },
    'baseline-file': { type: 'string' },
    'baseline-ms': { type: 'string', default: '300' },
    'settle-tail-ms': { type: 'string' },
    'settle-anyone': { type: 'boolean', default: false }, // settled once answered again, by anyone
    announce: { type: 'string', default: '' }, // families: arp,ndp
    http: { type: 'string' },
    'http-host': { type: 'string' }, // with --http: the Host the backend answers for
    'http-interval-ms': { type: 'string', default: '50' },
    'http-timeout-ms': { type: 'string', default: '150' },
    'answer-timeout-ms': { type: 'string', default: '150' }, // how long an ARP/NDP answer may take and still count
    'vrrp-source': { type: 'string', multiple: true }, // ADDRESS=MAC: a node's address, as a VRRP advertisement's source
    // Whether anybody answers at all, not who answered which request: one source address will do
    // (the management network's prober, which has only the host's own).
    'any-answer': { type: 'boolean', default: false },
    // Send no ARP/NDP request: capture and HTTP only. An answer to a request is a frame from the
    // holder, which teaches an ageing switch its port again (the quiet-switch check needs none).
    'listen-only': { type: 'boolean', default: false },
  },
});
const need = (k: string, v: unknown) => {
  if (v === undefined || v === '') {
    process.stderr.write(`probe: --${k} is required\n`);
    process.exit(2);
  }
  return v;
};
const iface = need('iface', values.iface) as string;
const mac = need('mac', values.mac) as string;
// Listening only, the VIPs only name what it sees: none is as good as some.
const vips = values['listen-only'] ? (values.vip ?? []) : (need('vip', values.vip) as string[]);
const interval = Math.max(5, Number(values['interval-ms']));
const answerTimeout = Math.max(10, Number(values['answer-timeout-ms']));
const duration = Number(need('duration-ms', values['duration-ms']));
const v4 = new Set(vips.filter((v) => isIPv4(v)));
const v6 = new Set(vips.filter((v) => !isIPv4(v)));
const from4 = values.ipv4 ?? [];
const from6 = values.ipv6 ?? [];
if (v4.size && !from4.length) {
  process.stderr.write("probe: --ipv4 (the prober's addresses) is needed for IPv4 VIPs\n");
  process.exit(2);
}
if (v6.size && !from6.length) {
  process.stderr.write("probe: --ipv6 (the prober's addresses) is needed for IPv6 VIPs\n");
  process.exit(2);
}
// An answer is told from its request by the address it goes to: a source comes round again only
// after the answer timeout, or a late answer would be taken for the next request's.
const sources = Math.min(...[from4, from6].filter((l) => l.length).map((l) => l.length));
const rotation =
  values['any-answer'] || values['listen-only'] ? undefined : rotationProblem(sources, interval, answerTimeout);
if (rotation) {
  process.stderr.write(`probe: ${rotation}; probe less often\n`);
  process.exit(2);
}

const events: ProbeEvent[] = [];
// VRRP answers with a virtual MAC that every router shares: each is named after the node that
// was master then, as its advertisements say (analyze.ts). The raw events keep the wire's MACs.
const advertisers = new Map((values['vrrp-source'] ?? []).map((s) => s.split('=') as [string, string]));
// Only once a virtual MAC was seen, and once per new event: the settle watch asks every 10 ms,
// and on an emulated VM client re-sorting the whole capture that often starves the prober's own
// requests.
let virtualSeen = false;
let cache: { n: number; out: ProbeEvent[] } | undefined;
const named = (): ProbeEvent[] => {
  if (!virtualSeen) return events;
  if (cache?.n !== events.length) cache = { n: events.length, out: attributeVirtualMacs(events, advertisers) };
  return cache.out;
};
/** Answers with a virtual MAC that no advertisement has named yet. */
const unnamed = () =>
  virtualSeen && named().some((e) => (e.kind === 'arp-reply' || e.kind === 'na') && isVirtualMac(e.mac));
// VRRP advertises every second by default: an answer may wait that long for its name, so the
// baseline and the end of a capture wait for the next advertisement (the capture goes on).
const NAMING_MS = 2500;
const whenNamed = (then: () => void, until = Date.now() + NAMING_MS): void => {
  if (!unnamed() || Date.now() >= until) then();
  else setTimeout(() => whenNamed(then, until), 20);
};
const base = BigInt(Date.now()) * 1000n - process.hrtime.bigint() / 1000n;
const nowUs = () => Number(base + process.hrtime.bigint() / 1000n);

// The capture file also gets the HTTP probes (port 80), so tcpdump/Wireshark show the whole story,
// and VRRP/CARP advertisements (IP protocol 112): who is master, on the protocol's own clock.
const session = new pcap.PcapSession(
  true,
  iface,
  'arp or icmp6 or tcp port 80 or ip proto 112 or ip6 proto 112',
  4 << 20,
  256,
  values.pcap ?? '',
  false,
  0,
  true,
);
// Requests go out on a handle of their own that captures nothing ("less 1": no frame is that
// short): the kernel never copies a socket's own frames back to it, but does to the capture above.
const sender = new pcap.PcapSession(true, iface, 'less 1', 1 << 16, 64, '', false, 0, false);
const forClient = { forClient: true } as const;
const from4Set = new Set(from4);
const from6Set = new Set(from6);
const attributor = new Attributor();
const record = (e: ProbeEvent) => events.push(attributor.add(e));
session.on('packet', (p) => {
  // node_pcap copies every frame into one buffer: only its first caplen bytes are this frame's.
  const f = readFrame(p.buf.subarray(0, p.header.readUInt32LE(8)));
  if (!f) return;
  const t = p.header.readUInt32LE(0) * 1e6 + p.header.readUInt32LE(4);
  if (f.srcMac === mac) {
    // Our own requests, as they left: on the capture's clock, before any answer to them.
    if (f.kind === 'arp' && f.op === 1 && v4.has(f.targetIp) && from4Set.has(f.senderIp))
      record({ t, kind: 'arp-request', vip: f.targetIp, src: f.senderIp });
    else if (f.kind === 'ns' && v6.has(f.target) && from6Set.has(f.src))
      record({ t, kind: 'ns', vip: f.target, src: f.src });
    return;
  }
  if (
    f.kind !== 'vrrp' &&
    f.kind !== 'ns' &&
    isVirtualMac(f.kind === 'arp' ? f.senderMac : (f.targetLinkAddr ?? f.srcMac))
  )
    virtualSeen = true;
  if (f.kind === 'arp') {
    if (f.op === 2 && v4.has(f.senderIp))
      record({
        t,
        kind: 'arp-reply',
        vip: f.senderIp,
        mac: f.senderMac,
        dst: f.targetIp,
        ...(f.dstMac !== mac && forClient),
      });
    else if (f.op === 1 && f.senderIp === f.targetIp && v4.has(f.senderIp))
      record({ t, kind: 'garp', vip: f.senderIp, mac: f.senderMac });
  } else if (f.kind === 'na' && v6.has(f.target)) {
    record({
      t,
      kind: f.solicited ? 'na' : 'unsolicited-na',
      vip: f.target,
      mac: f.targetLinkAddr ?? f.srcMac,
      dst: f.dst,
      override: f.override,
      tlla: f.targetLinkAddr !== undefined,
      ...(f.solicited && f.dstMac !== mac && forClient),
    });
  } else if (f.kind === 'vrrp') {
    for (const vip of f.addresses.filter((a) => v4.has(a) || v6.has(a)))
      record({ t, kind: 'vrrp', vip, mac: f.srcMac, src: f.src, priority: f.priority, intervalMs: f.intervalMs });
  }
});

// HTTP through the client's own kernel stack (its neighbour cache is never flushed): which
// node serves, and when service stops and resumes.
let httpTimer: NodeJS.Timeout | undefined;
const httpTimeout = Math.max(10, Number(values['http-timeout-ms']));
let httpInFlight = 0;
if (values.http) {
  const host = need('http-host', values['http-host']) as string;
  const url = `http://${values.http.includes(':') ? `[${values.http}]` : values.http}/`;
  const every = Math.max(10, Number(values['http-interval-ms']));
  // One request every interval, not one after another: a slow or lost request (its timeout is
  // longer on emulated VMs) must not hold back the next, or recovery would be seen a timeout late.
  // Each counts by when it was sent.
  const tick = () => {
    const t = nowUs();
    httpTimer = setTimeout(tick, every);
    httpInFlight++;
    void new Promise<{ status: number; body: string } | undefined>((resolve) => {
      const req = httpGet(url, { headers: { host }, agent: false, timeout: httpTimeout }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim() }));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
    }).then((r) => {
      httpInFlight--;
      events.push(
        r?.status === 200
          ? { t, kind: 'http-ok', vip: values.http!, node: r.body }
          : { t, kind: 'http-fail', vip: values.http! },
      );
    });
  };
  tick();
}

const startedAt = nowUs();
// A request counts only once the capture saw it leave: with no carrier (the switch is down) the
// send fails or the frame is dropped before the wire.
const sendOne = (frame: Buffer) => {
  try {
    sender.inject(frame);
  } catch {
    // not sent, so not seen: nothing to count
  }
};
const send = (round: number) => {
  if (values['listen-only']) return;
  for (const v of v4) sendOne(arpProbe(mac, from4[round % sources]!, v));
  for (const v of v6) sendOne(nsProbe(mac, from6[round % sources]!, v));
};
// The n-th round goes out at start + n × interval: no drift, and a round a stalled event loop
// delayed is sent as soon as it can (none is skipped).
let rounds = 0;
let timer: NodeJS.Timeout | undefined;
const tick = () => {
  send(rounds);
  rounds++;
  timer = setTimeout(tick, Math.max(0, (startedAt + rounds * interval * 1000 - nowUs()) / 1000));
};
tick();

// The baseline: who answered each VIP, once the answers to ten requests (--baseline-ms of them)
// have had --answer-timeout-ms to come back, however late a stalled client sent them (analyze.ts
// baselineOf); past BASELINE_STALL_MS more, it says what it has.
const baselineFile = values['baseline-file'];
if (baselineFile) {
  const baselineMs = Number(values['baseline-ms']);
  const want = Math.max(1, Math.floor(baselineMs / interval));
  const latest = Date.now() + baselineMs + answerTimeout + BASELINE_STALL_MS;
  const write = () => {
    const { baseline } = baselineOf(named(), vips, nowUs(), answerTimeout);
    writeFileSync(`${baselineFile}.tmp`, JSON.stringify(baseline));
    renameSync(`${baselineFile}.tmp`, baselineFile);
  };
  // A baseline that waits for an advertisement to name its answers would put every fault right
  // after one: a virtual-MAC subject's takeovers all at the top of their window (FRR, 2026-12-07).
  // The baseline ends a random part of the advertisement interval later, so that trials sample it.
  const phase = () => {
    const advert = virtualSeen ? [...events].reverse().find((e) => e.kind === 'vrrp') : undefined;
    return advert?.intervalMs ? Math.random() * advert.intervalMs : 0;
  };
  // setImmediate: after the poll phase, so that answers libpcap already holds are read first.
  const attempt = () =>
    setImmediate(() => {
      if (baselineOf(named(), vips, nowUs(), answerTimeout).ripe >= want || Date.now() >= latest)
        whenNamed(() => setTimeout(write, phase()));
      else setTimeout(attempt, interval);
    });
  setTimeout(attempt, baselineMs + answerTimeout);
}
let ended: ProbeResult['ended'] | undefined;
const finish = (why: ProbeResult['ended']) => {
  if (ended) return; // the limit and the settle watch may both fire
  ended = why;
  clearTimeout(timer);
  clearInterval(endPoll);
  clearTimeout(httpTimer);
  // Answers to the last requests get their timeout (a slow responder, a stalled client), and so do HTTP requests still out.
  setTimeout(
    () =>
      whenNamed(() => {
        const s = session.stats();
        session.close();
        sender.close();
        const result: ProbeResult = {
          iface,
          intervalMs: interval,
          startedAt,
          endedAt: nowUs(),
          ended: why,
          events: named().sort((a, b) => a.t - b.t),
          sources,
          stats: { received: s.ps_recv, dropped: s.ps_drop, ifDropped: s.ps_ifdrop },
        };
        process.stdout.write(JSON.stringify(result), () => process.exit(0)); // a pipe is written asynchronously: exit once it is flushed
      }),
    Math.max(50, interval, answerTimeout, httpInFlight ? httpTimeout : 0),
  );
};
const endFile = values['end-file'];
const maxEnd = setTimeout(() => finish(endFile === undefined ? 'duration' : 'limit'), duration);
const endPoll =
  endFile === undefined
    ? undefined
    : setInterval(() => {
        if (!existsSync(endFile)) return;
        const [at, faultAt] = readFileSync(endFile, 'utf8').trim().split(/\s+/).map(Number);
        rmSync(endFile, { force: true });
        clearInterval(endPoll);
        if (at === undefined || !Number.isFinite(at)) return; // unreadable: the maximum duration stands
        clearTimeout(maxEnd);
        const limit = setTimeout(() => finish('end'), Math.max(0, (at - nowUs()) / 1000));
        const tail = Number(values['settle-tail-ms']);
        if (faultAt === undefined || !Number.isFinite(faultAt) || !Number.isFinite(tail)) return;
        // Once the failover has played out, a short tail (split-brain right after the takeover) and done.
        const watch = setInterval(() => {
          const announce = values.announce!.split(',').filter((f): f is 'arp' | 'ndp' => f === 'arp' || f === 'ndp');
          const done = settledAt(named(), faultAt, vips, {
            announce,
            http: values.http,
            anyone: values['settle-anyone'],
          });
          if (done === undefined) return;
          clearInterval(watch);
          clearTimeout(limit);
          setTimeout(() => finish('settled'), Math.max(0, Math.min(at, done + tail * 1000) - nowUs()) / 1000);
        }, 10);
      }, 10);
process.on('SIGTERM', () => {
  session.close();
  sender.close();
  process.exit(1);
});

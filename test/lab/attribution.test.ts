// Every answer tied to its request by content: the timing routes to a false split-brain that the
// old time-window rules took (a request stamped after its answer, a late answer, a stalled
// responder, a quick handover) are no split-brain; a second node is. And frames are read within
// what was captured, and split-brain judged from nothing is no pass. Pure: no namespaces.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { neighborAdvert, unsolicitedNeighborAdvert } from '../../agent/packets.ts';
import { answeredCount, duplicates, requestsOf, splitBrain } from '../../conformance/analyze.ts';
import { judgeSplitBrain } from '../../conformance/checks/no-split-brain.ts';
import type { ProbeEvent, ProbeResult } from '../../conformance/events.ts';
import { readFrame } from '../../conformance/frames.ts';
import { probeTimingProblem } from '../../conformance/prober.ts';
import { analyzeTrial } from '../../conformance/trial.ts';
import { attributeVirtualMacs } from '../../conformance/vrrp.ts';
import { repo } from '../helpers.ts';
import { captured, type Made } from '../probe-events.ts';

const A = '02:4c:00:00:01:02',
  B = '02:4c:00:00:01:03',
  VMAC = '00:00:5e:00:01:33',
  VIP = '198.18.0.100';
const ms = (x: number) => 1_000_000_000_000 + Math.round(x * 1000);
const advertisers = new Map([
  ['198.18.0.12', A],
  ['198.18.0.13', B],
]);
/** A is VRRP master (every 100 ms) and B a backup that once advertised: a second answer has someone to be named after. */
const vrrpBackground = (until: number): Made[] => [
  { t: ms(-500), kind: 'vrrp', vip: VIP, mac: VMAC, src: '198.18.0.13', priority: 100, intervalMs: 100 },
  ...Array.from(
    { length: until / 100 },
    (_, i): Made => ({
      t: ms(i * 100 + 5),
      kind: 'vrrp',
      vip: VIP,
      mac: VMAC,
      src: '198.18.0.12',
      priority: 200,
      intervalMs: 100,
    }),
  ),
];

test('a request stamped 2.5 ms after its answer (the old userland clock) is no second node', (t) => {
  const ev: Made[] = [...vrrpBackground(400)];
  for (let x = 0; x < 400; x += 20) {
    const late = x === 200 ? 2.5 : 0;
    ev.push({ t: ms(x + late), kind: 'arp-request', vip: VIP });
    ev.push({ t: ms(x + 0.3), kind: 'arp-reply', vip: VIP, mac: VMAC });
  }
  const named = attributeVirtualMacs(captured(ev), advertisers);
  t.deepEqual(splitBrain(named, VIP, 'arp'), []);
  t.is(answeredCount(requestsOf(named, VIP, 'arp')), 20);
  t.true(named.filter((e) => e.kind === 'arp-reply').every((e) => e.mac === A));
});

test('an answer 65 ms late, after three more answered requests, is the late request’s', (t) => {
  const ev: Made[] = [...vrrpBackground(400)];
  for (let x = 0; x < 400; x += 20) {
    ev.push({ t: ms(x), kind: 'arp-request', vip: VIP });
    if (x !== 100) ev.push({ t: ms(x + 0.3), kind: 'arp-reply', vip: VIP, mac: VMAC });
    if (x === 160) ev.push({ t: ms(165), kind: 'arp-reply', vip: VIP, mac: VMAC, answers: 5 }); // request 100's
  }
  const named = attributeVirtualMacs(captured(ev), advertisers);
  t.deepEqual(splitBrain(named, VIP, 'arp'), []);
  t.is(requestsOf(named, VIP, 'arp').find((a) => a.t === ms(100))!.answers.length, 1);
});

test('a responder stalled 65 ms that releases its queued answers together is one node', (t) => {
  const ev: Made[] = [...vrrpBackground(400)];
  for (let x = 0; x < 400; x += 20) {
    ev.push({ t: ms(x), kind: 'arp-request', vip: VIP });
    if (x < 100 || x > 160) ev.push({ t: ms(x + 0.3), kind: 'arp-reply', vip: VIP, mac: VMAC });
    if (x === 160)
      for (let k = 5; k <= 8; k++)
        ev.push({ t: ms(165 + k * 0.01), kind: 'arp-reply', vip: VIP, mac: VMAC, answers: k });
  }
  const named = attributeVirtualMacs(captured(ev), advertisers);
  t.deepEqual(splitBrain(named, VIP, 'arp'), []);
  t.is(answeredCount(requestsOf(named, VIP, 'arp')), 20, 'every request answered once');
});

test('a quick handover between real MACs, every request answered once, is no split-brain', (t) => {
  const ev: Made[] = [];
  for (let x = 0; x < 1000; x += 20) {
    ev.push({ t: ms(x), kind: 'arp-request', vip: VIP });
    if (x < 500) ev.push({ t: ms(x + 0.3), kind: 'arp-reply', vip: VIP, mac: A });
    if (x >= 520) ev.push({ t: ms(x + 0.3), kind: 'arp-reply', vip: VIP, mac: B });
    // A's answer to the request at 500 comes 25 ms late, after B answered the next one
    if (x === 520) ev.push({ t: ms(525), kind: 'arp-reply', vip: VIP, mac: A, answers: 25 });
  }
  const events = captured(ev);
  t.deepEqual(splitBrain(events, VIP, 'arp'), []);
  const tr = analyzeTrial({
    fault: 'power-off',
    trial: 1,
    events,
    faultAt: ms(505),
    holder: 'a',
    budgetMs: 2000,
    windowMs: 3000,
    vip: { ipv4: VIP },
    families: { arp: true, ndp: false, http: false },
    excludedMacs: new Set(),
    nodeOfMac: (m) => (m === A ? 'a' : m === B ? 'b' : undefined),
    silenceLimitMs: 150,
  });
  t.is(tr.arp!.splitBrainWindows, 0);
  t.deepEqual(tr.problems, []);
  // The same capture with frames dropped cannot pass: a lost first answer would move the takeover.
  const lossy = analyzeTrial({
    ...{ fault: 'power-off', trial: 1, events, faultAt: ms(505), holder: 'a', budgetMs: 2000, windowMs: 3000 },
    vip: { ipv4: VIP },
    families: { arp: true, ndp: false, http: false },
    excludedMacs: new Set(),
    nodeOfMac: (m) => (m === A ? 'a' : m === B ? 'b' : undefined),
    silenceLimitMs: 150,
    dropped: 2,
  });
  t.false(lossy.passed);
  t.deepEqual(lossy.problems, ['the capture dropped 2 frames: its timings cannot be trusted']);
});

test('two nodes answering one request is split-brain; one node answering twice is a duplicate', (t) => {
  const ev: Made[] = [];
  for (let x = 0; x < 100; x += 20) {
    ev.push({ t: ms(x), kind: 'arp-request', vip: VIP });
    ev.push({ t: ms(x + 0.3), kind: 'arp-reply', vip: VIP, mac: A });
    if (x === 40) ev.push({ t: ms(x + 0.5), kind: 'arp-reply', vip: VIP, mac: B });
    if (x === 60) ev.push({ t: ms(x + 0.5), kind: 'arp-reply', vip: VIP, mac: A });
  }
  const events = captured(ev);
  t.deepEqual(splitBrain(events, VIP, 'arp'), [{ t: ms(40), macs: [A, B] }]);
  t.is(duplicates(events, VIP, 'arp'), 1);
  // Two answers to one request with the shared virtual MAC: two routers, whatever names they get.
  const v: Made[] = [
    { t: ms(0), kind: 'arp-request', vip: VIP },
    { t: ms(0.3), kind: 'arp-reply', vip: VIP, mac: VMAC },
    { t: ms(0.4), kind: 'arp-reply', vip: VIP, mac: VMAC },
  ];
  t.is(splitBrain(attributeVirtualMacs(captured(v), new Map()), VIP, 'arp').length, 1);
});

test('a neighbour advertisement is read within its captured length: a reused buffer does not lend it an option', (t) => {
  // node_pcap copies every frame into one 256-byte buffer: a short NA after a longer one finds the
  // longer one's bytes behind it.
  const withOption = neighborAdvert(A, 'fd4c:3200:18::1:0', B, 'fd4c:3200:18::e0');
  const without = Buffer.from(unsolicitedNeighborAdvert(B, 'fd4c:3200:18::1:1').subarray(0, 14 + 40 + 24));
  without.writeUInt16BE(24, 14 + 4); // payload length: the message without its option
  const buf = Buffer.alloc(256);
  withOption.copy(buf);
  without.copy(buf);
  const seen = readFrame(buf.subarray(0, without.length));
  t.is(seen?.kind, 'na');
  t.is(seen?.kind === 'na' ? seen.targetLinkAddr : 'x', undefined, 'no option in this frame');
  const full = readFrame(withOption);
  t.like(full, { kind: 'na', solicited: true, override: true, targetLinkAddr: A, dst: 'fd4c:3200:18::e0' });
});

const result = (events: ProbeEvent[], dropped = 0): ProbeResult => ({
  iface: 'eth1',
  intervalMs: 20,
  startedAt: 0,
  endedAt: 1,
  ended: 'duration',
  events,
  sources: 31,
  stats: { received: events.length, dropped, ifDropped: 0 },
});

test('no-split-brain judged from nothing fails: no capture, no answer, dropped frames', (t) => {
  const vips = [{ ipv4: VIP }];
  const name = (m: string) => m;
  t.regex(judgeSplitBrain([], vips, name).problems.join(), /no capture to examine/);
  const unanswered = captured([
    { t: ms(0), kind: 'arp-request', vip: VIP },
    { t: ms(20), kind: 'arp-request', vip: VIP },
  ]);
  t.regex(
    judgeSplitBrain([{ name: 'a.pcap', result: result(unanswered) }], vips, name).problems.join(),
    /no request was answered/,
  );
  const fine = captured([
    { t: ms(0), kind: 'arp-request', vip: VIP },
    { t: ms(0.3), kind: 'arp-reply', vip: VIP, mac: A },
  ]);
  t.deepEqual(judgeSplitBrain([{ name: 'a.pcap', result: result(fine) }], vips, name).problems, []);
  t.regex(
    judgeSplitBrain([{ name: 'a.pcap', result: result(fine, 3) }], vips, name).problems.join(),
    /a\.pcap: the capture dropped 3 frames/,
  );
});

test(
  'a probe interval too short for the prober’s addresses to outlast the answer timeout is refused, naming the flag and the ' +
    'fix',
  async (t) => {
    t.is(probeTimingProblem(5, 150), undefined, '31 addresses at 5 ms: 150 ms before one comes round');
    t.regex(
      probeTimingProblem(20, 900) ?? '',
      /--probe-interval 20 ms is too short .* use --probe-interval 30 or more/,
    );
    // On the VM lab (qemu: 650 ms answer timeout) 5 ms is refused before anything is brought up.
    const out = join(tmpdir(), `l2l-timing-${process.pid}`);
    const r = await execa(
      'node',
      ['scripts/run.mjs', 'conformance', '--lab', 'labs/vm.yaml', '--probe-interval', '5', '--out', out],
      { cwd: repo, reject: false },
    );
    t.is(r.exitCode, 2, r.stderr);
    t.regex(r.stderr, /--probe-interval 5 ms is too short for an answer timeout of 650 ms/);
    t.false(existsSync(out), 'nothing created');
  },
);

// VRRP as the suite reads it: advertisements parsed from the RFC's layout (built here byte by
// byte, apart from any implementation), node names for the virtual MACs that VRRP routers share,
// and the protocol's own clock around a fault. Pure: no namespaces.
import test from 'ava';
import { failover, splitBrain } from '../../conformance/analyze.ts';
import type { ProbeEvent } from '../../conformance/events.ts';
import { linkLocalOf, readFrame } from '../../conformance/frames.ts';
import { attributeVirtualMacs, vrrpSwitchover } from '../../conformance/vrrp.ts';
import { captured, type Made } from '../probe-events.ts';

const A = '02:4c:00:00:01:02',
  B = '02:4c:00:00:01:03',
  VMAC = '00:00:5e:00:01:33',
  VIP = '198.18.0.100';
const sources = new Map([
  ['198.18.0.12', A],
  ['198.18.0.13', B],
]);

/** A VRRPv3 advertisement over IPv4 (RFC 5798 §5.1, §5.2), checksums left zero: the suite does not check them. */
function vrrp4(srcMac: string, src: string, priority: number, intervalCs: number, addresses: string[]): Buffer {
  const eth = Buffer.from(`01005e000012${srcMac.replace(/:/g, '')}0800`, 'hex');
  const body = Buffer.alloc(8 + 4 * addresses.length);
  body[0] = 0x31; // version 3, type 1 (ADVERTISEMENT)
  body[1] = 51;
  body[2] = priority;
  body[3] = addresses.length;
  body.writeUInt16BE(intervalCs & 0x0fff, 4);
  addresses.forEach((a, i) => {
    Buffer.from(a.split('.').map(Number)).copy(body, 8 + 4 * i);
  });
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + body.length, 2);
  ip[8] = 255; // TTL 255 (§5.1.1.3)
  ip[9] = 112;
  Buffer.from(src.split('.').map(Number)).copy(ip, 12);
  Buffer.from([224, 0, 0, 18]).copy(ip, 16);
  return Buffer.concat([eth, ip, body]);
}

test('a VRRPv3 advertisement: sender, VRID, priority, interval and addresses', (t) => {
  t.deepEqual(readFrame(vrrp4(VMAC, '198.18.0.12', 248, 100, [VIP])), {
    kind: 'vrrp',
    srcMac: VMAC,
    src: '198.18.0.12',
    version: 3,
    vrid: 51,
    priority: 248,
    intervalMs: 1000,
    addresses: [VIP],
  });
  t.like(readFrame(vrrp4(VMAC, '198.18.0.12', 0, 10, [VIP])), { priority: 0, intervalMs: 100 });
  const cut = vrrp4(VMAC, '198.18.0.12', 248, 100, [VIP]).subarray(0, 14 + 20 + 10);
  t.is(readFrame(cut), undefined, 'a truncated advertisement is not read');
});

test("the EUI-64 link-local address of a MAC: IPv6 VRRP's sender as the lab names it", (t) => {
  t.is(linkLocalOf('02:4c:14:34:01:02'), 'fe80::4c:14ff:fe34:102'); // as the kernel gave node01's eth1
  t.is(linkLocalOf('00:00:5e:00:02:33'), 'fe80::200:5eff:fe00:233');
});

const ms = (x: number) => x * 1000; // µs
/** Requests every 20 ms from 0 to `until` ms; the master advertises every 100 ms while it lives. */
function scenario(o: { aUntil: number; bFrom: number; until: number; aKeepsAnswering?: boolean }): Made[] {
  const ev: Made[] = [];
  for (let x = 0; x < o.until; x += 20) {
    ev.push({ t: ms(x), kind: 'arp-request', vip: VIP });
    // (as the old prober stamped requests after the send: an answer could carry an earlier time)
    if (x < o.aUntil || o.aKeepsAnswering) ev.push({ t: ms(x) - 8, kind: 'arp-reply', vip: VIP, mac: VMAC });
    if (x >= o.bFrom) ev.push({ t: ms(x + 2), kind: 'arp-reply', vip: VIP, mac: VMAC });
  }
  for (let x = 5; x < Math.min(o.aUntil, o.until); x += 100)
    ev.push({ t: ms(x), kind: 'vrrp', vip: VIP, mac: VMAC, src: '198.18.0.12', priority: 248, intervalMs: 100 });
  // B's first advertisement reaches the client 1 ms after its first answer
  for (let x = o.bFrom + 3; x < o.until; x += 100)
    ev.push({ t: ms(x), kind: 'vrrp', vip: VIP, mac: VMAC, src: '198.18.0.13', priority: 247, intervalMs: 100 });
  return ev;
}

test('answers with the shared virtual MAC are named after the master: a failover from A to B shows', (t) => {
  const raw = captured(scenario({ aUntil: 500, bFrom: 840, until: 1200 }));
  t.deepEqual(failover(raw, VIP, 'arp', ms(500)).newMac, undefined, 'on the wire alone nothing changes hands');
  const ev = attributeVirtualMacs(raw, sources);
  const fo = failover(ev, VIP, 'arp', ms(500));
  t.is(fo.oldMac, A);
  t.is(fo.newMac, B);
  t.is(fo.outageMs, 842 - 480 + 0.008); // B answered just before its first advertisement reached the client
  t.is(splitBrain(ev, VIP, 'arp').length, 0);
  t.true(ev.filter((e) => e.kind === 'arp-reply').every((e) => e.wireMac === VMAC));
  const v = vrrpSwitchover(ev, VIP, ms(500))!;
  t.is(v.oldMac, A);
  t.is(v.newMac, B);
  t.is((v.firstNew! - v.lastOld!) / 1000, 843 - 405, "VRRP's own clock: A's last advertisement to B's first");
});

test('a node that still answers with the virtual MAC after it stopped advertising is seen: split-brain', (t) => {
  const ev = attributeVirtualMacs(
    captured(scenario({ aUntil: 500, bFrom: 840, until: 1200, aKeepsAnswering: true })),
    sources,
  );
  const windows = splitBrain(ev, VIP, 'arp');
  t.true(windows.length >= 15, `${windows.length} windows`);
  t.deepEqual(windows[0]!.macs.sort(), [A, B].sort());
});

test("a new master whose first advertisement comes an interval late (FRR's IPv6 router) still gets its answers", (t) => {
  const late = (o: Parameters<typeof scenario>[0]) =>
    captured(scenario(o)).map((e) => (e.kind === 'vrrp' && e.src === '198.18.0.13' ? { ...e, t: e.t + ms(100) } : e));
  const fo = failover(
    attributeVirtualMacs(late({ aUntil: 500, bFrom: 840, until: 1200 }), sources),
    VIP,
    'arp',
    ms(500),
  );
  t.is(fo.newMac, B);
  t.is(fo.firstNew, ms(842), 'after a silence, the answers belong to the next master');
  // A's kernel never stopped answering: the answers go on being A's, B's are the second ones
  const both = attributeVirtualMacs(late({ aUntil: 500, bFrom: 840, until: 1200, aKeepsAnswering: true }), sources);
  const w = splitBrain(both, VIP, 'arp');
  t.is(w[0]!.t, ms(840), 'split-brain from the first window B answered in');
  t.deepEqual(w[0]!.macs.sort(), [A, B].sort());
  t.true(both.filter((e) => e.kind === 'arp-reply' && e.t > ms(500) && e.t < ms(840)).every((e) => e.mac === A));
});

test('after a master resigns (priority 0), answers belong to the next master', (t) => {
  const raw = scenario({ aUntil: 500, bFrom: 600, until: 1000 });
  raw.push({ t: ms(490), kind: 'vrrp', vip: VIP, mac: VMAC, src: '198.18.0.12', priority: 0, intervalMs: 100 });
  raw.push({ t: ms(560), kind: 'arp-request', vip: VIP }, { t: ms(561), kind: 'arp-reply', vip: VIP, mac: VMAC });
  const ev = attributeVirtualMacs(captured(raw), sources);
  t.is(ev.find((e) => e.t === ms(561))!.mac, B, 'answered after A resigned and before B advertised: B');
  t.is(ev.find((e) => e.t === ms(480) - 8)!.mac, A);
});

test('a slow client: a reply captured after the next request was sent is no second node', (t) => {
  const ev: Made[] = [
    { t: ms(5), kind: 'vrrp', vip: VIP, mac: VMAC, src: '198.18.0.12', priority: 248, intervalMs: 1000 },
    { t: ms(25), kind: 'vrrp', vip: VIP, mac: VMAC, src: '198.18.0.13', priority: 0, intervalMs: 1000 }, // B once resigned
  ];
  for (let x = 0; x < 200; x += 20) ev.push({ t: ms(x), kind: 'arp-request', vip: VIP });
  // 40's reply came at 61, after the request at 60
  [1, 21, 61, 62, 81, 101].forEach((x, i) => {
    ev.push({ t: ms(x), kind: 'arp-reply', vip: VIP, mac: VMAC, answers: i });
  });
  const named = attributeVirtualMacs(captured(ev), sources);
  t.is(splitBrain(named, VIP, 'arp').length, 0);
  t.true(named.filter((e) => e.kind === 'arp-reply').every((e) => e.mac === A));
});

test('an announcement comes from the node taking over, even while the old one still answers', (t) => {
  const raw = captured(scenario({ aUntil: 500, bFrom: 840, until: 1200, aKeepsAnswering: true })).map((e) =>
    e.kind === 'vrrp' && e.src === '198.18.0.13' ? { ...e, t: e.t + ms(100) } : e,
  );
  raw.push({ t: ms(841), kind: 'garp', vip: VIP, mac: VMAC });
  const ev = attributeVirtualMacs(raw, sources);
  t.is(ev.find((e) => e.kind === 'garp')!.mac, B);
  t.deepEqual(failover(ev, VIP, 'arp', ms(500)).announcements, [ms(841)]);
});

test("answers to the client's own kernel (its HTTP traffic) are not a second answer to the prober", (t) => {
  const raw = scenario({ aUntil: 1200, bFrom: 5000, until: 1200 });
  raw.push({ t: ms(301), kind: 'arp-reply', vip: VIP, mac: VMAC, forClient: true });
  const ev = attributeVirtualMacs(captured(raw), sources);
  t.is(splitBrain(ev, VIP, 'arp').length, 0);
  t.true(ev.filter((e) => e.kind === 'arp-reply').every((e) => e.mac === A));
});

test('answers from real MACs pass through unchanged', (t) => {
  const ev: ProbeEvent[] = [
    { t: 1, kind: 'arp-request', vip: VIP },
    { t: 2, kind: 'arp-reply', vip: VIP, mac: A },
  ];
  t.deepEqual(attributeVirtualMacs(ev, sources), ev);
});

test('a late round sent right before the next: its answers stay in their own windows (no false split-brain)', (t) => {
  const ev: Made[] = [
    { t: ms(5), kind: 'vrrp', vip: VIP, mac: VMAC, src: '198.18.0.12', priority: 248, intervalMs: 1000 },
    { t: ms(0), kind: 'arp-request', vip: VIP },
    { t: ms(0.3), kind: 'arp-reply', vip: VIP, mac: VMAC },
    { t: ms(29), kind: 'arp-request', vip: VIP }, // round 2 went out 9 ms late
    { t: ms(29.2), kind: 'arp-reply', vip: VIP, mac: VMAC },
    { t: ms(33), kind: 'arp-request', vip: VIP }, // round 3 on schedule… its answer captured 0.5 ms early
    { t: ms(32.5), kind: 'arp-reply', vip: VIP, mac: VMAC },
    { t: ms(60), kind: 'arp-request', vip: VIP },
    // two rounds 0.1 ms apart, both answers after both: one window, two requests, two answers
    { t: ms(80), kind: 'arp-request', vip: VIP },
    { t: ms(80.1), kind: 'arp-request', vip: VIP },
    { t: ms(80.3), kind: 'arp-reply', vip: VIP, mac: VMAC, answers: 4 },
    { t: ms(80.4), kind: 'arp-reply', vip: VIP, mac: VMAC, answers: 5 },
    { t: ms(100), kind: 'arp-request', vip: VIP },
  ];
  const named = attributeVirtualMacs(captured(ev), sources);
  t.is(splitBrain(named, VIP, 'arp').length, 0);
  t.true(named.filter((e) => e.kind === 'arp-reply').every((e) => e.mac === A));
});

// The capture analysis, as pure functions on made-up probe events: a new holder that falls silent
// after its takeover (lease flapping) is seen, and a steady one is not.
import test from 'ava';
import { baselineOf, failover, settledAt } from '../../conformance/analyze.ts';
import { announcementPattern, familyPattern } from '../../conformance/checks/announcement-pattern.ts';
import type { ProbeEvent } from '../../conformance/events.ts';
import { analyzeTrial, type TrialInput } from '../../conformance/trial.ts';
import { captured, type Made } from '../probe-events.ts';

const A = '02:4c:00:00:01:02',
  B = '02:4c:00:00:01:03',
  VIP = '198.18.0.100';
const ms = (x: number) => 1_000_000_000_000 + x * 1000;

/** A request every 20 ms until `until`; A answers before 500 ms, B from 800 ms except in `silent`. */
function capture(until: number, silent?: [number, number]): ProbeEvent[] {
  const ev: Made[] = [];
  for (let x = 0; x < until; x += 20) {
    ev.push({ t: ms(x), kind: 'arp-request', vip: VIP });
    const mac = x < 500 ? A : x >= 800 && !(silent && x >= silent[0] && x < silent[1]) ? B : undefined;
    if (mac) ev.push({ t: ms(x + 1), kind: 'arp-reply', vip: VIP, mac });
  }
  for (const x of [800, 900, 1000, ...(silent ? [silent[1], silent[1] + 100, silent[1] + 200] : [])])
    ev.push({ t: ms(x + 2), kind: 'garp', vip: VIP, mac: B });
  return captured(ev).sort((a, b) => a.t - b.t);
}

const inputOf = (events: ProbeEvent[], emulated = false, budgetMs = 2000): TrialInput => ({
  emulated,
  fault: 'power-off',
  trial: 1,
  events,
  faultAt: ms(500),
  holder: 'a',
  budgetMs,
  windowMs: 5000,
  vip: { ipv4: VIP },
  families: { arp: true, ndp: false, http: false },
  excludedMacs: new Set(),
  nodeOfMac: (m) => (m === A ? 'a' : m === B ? 'b' : undefined),
  silenceLimitMs: 150,
});
const trialOf = (events: ProbeEvent[], emulated = false, budgetMs = 2000) =>
  analyzeTrial(inputOf(events, emulated, budgetMs));

test('a new holder that keeps the VIP: the longest silence after its takeover is one probe interval', (t) => {
  const tr = trialOf(capture(4000));
  t.is(tr.arp!.newNode, 'b');
  t.is(tr.arp!.relapseMs, 20);
  t.true(tr.passed);
});

test('a new holder that loses the VIP and takes it again: the silence and its start are measured', (t) => {
  const tr = trialOf(capture(5000, [1500, 4200]));
  t.is(Math.round(tr.arp!.takeoverMs!), 301);
  t.is(tr.arp!.relapseMs, 2720, 'from its last answer before the silence to its first after');
  t.is(tr.arp!.relapseAtMs, 981);
  t.deepEqual(tr.arp!.announceTimesMs, [302, 402, 502, 3702, 3802, 3902]);
  // The announcement pattern is the takeover's own burst; the second one is reported apart.
  const p = familyPattern(tr.arp!, 20);
  t.is(announcementPattern(p.times), '3 in 200 ms, every 100 ms (median gap)');
  t.true(p.relapse);
  t.deepEqual(p.again, [3702, 3802, 3902]);
  t.false(familyPattern(trialOf(capture(4000)).arp!, 20).relapse);
  t.false(tr.passed);
  t.regex(
    tr.problems.join('; '),
    /b took over, then nobody answered for 2720 ms from 981 ms after the fault \(more than 150 ms\)/,
  );
  // On an emulated lab the silence is measured and reported, not judged (its CPUs stall that long).
  const emulated = trialOf(capture(5000, [1500, 4200]), true);
  t.is(emulated.arp!.relapseMs, 2720);
  t.true(emulated.passed, emulated.problems.join('; '));
});

test('a takeover over its budget fails on a real CPU; an emulated lab reports it; who answers is judged on both', (t) => {
  const real = trialOf(capture(4000), false, 200);
  t.false(real.passed);
  t.deepEqual(real.problems, ["ARP: takeover 301 ms (the fault → the new holder's first answer), budget 200 ms"]);
  const emulated = trialOf(capture(4000), true, 200);
  t.true(emulated.passed, emulated.problems.join('; '));
  t.deepEqual(emulated.notes, [
    "ARP: takeover 301 ms (the fault → the new holder's first answer), budget 200 ms (emulated lab: reported, not judged)",
  ]);
  t.is(trialOf(capture(4000), true).notes, undefined, 'within the budget: nothing to note');
  // the node that answered before the fault is not the one hit: a structural verdict, judged under emulation too
  const wrong = analyzeTrial({ ...inputOf(capture(4000), true, 200), holder: 'b' });
  t.false(wrong.passed);
  t.regex(wrong.problems.join('; '), /b was not answering before the fault \(a was\)/);
});

test("on a lab that runs DAD, the NDP takeover's budget adds the subject's dadMs; ARP's does not", (t) => {
  // The same takeover (301 ms) for both families; budget 200 ms, DAD 500 ms.
  const V6 = 'fd4c:3200:18::1:0';
  const v6 = capture(4000).map((e) =>
    e.vip === VIP
      ? { ...e, vip: V6, kind: e.kind === 'arp-request' ? 'ns' : e.kind === 'arp-reply' ? 'na' : 'unsolicited-na' }
      : e,
  ) as ProbeEvent[];
  const both = (dadMs?: number) =>
    analyzeTrial({
      ...inputOf(
        [...capture(4000), ...v6].sort((a, b) => a.t - b.t),
        false,
        200,
      ),
      vip: { ipv4: VIP, ipv6: V6 },
      families: { arp: true, ndp: true, http: false },
      ...(dadMs === undefined ? {} : { dadMs }),
    });
  const withDad = both(500);
  t.deepEqual(withDad.problems, ["ARP: takeover 301 ms (the fault → the new holder's first answer), budget 200 ms"]);
  t.is(withDad.dadMs, 500, 'the trial records it');
  const without = both();
  t.is(without.problems.length, 2);
  t.regex(without.problems[1]!, /^NDP: takeover 301 ms .*budget 200 ms$/);
  t.is(without.dadMs, undefined);
});

test('requests that go unanswered up to the end of the capture are a silence too', (t) => {
  const fo = failover(capture(3000, [2000, 99_999]), VIP, 'arp', ms(500));
  t.is((fo.relapse!.to - fo.relapse!.from) / 1000, 999, 'last answer at 1981 ms, last request at 2980 ms');
});

test('the baseline counts only requests whose answers have had time: a stalled client and a slow holder are no lost answers', (t) => {
  // CI on emulated VMs: the client's prober stalled, sent its 3rd and 4th requests just before the
  // baseline, and their answers were still on the way ("answered by node01 (2 of 4 requests)").
  const made: Made[] = [];
  for (const x of [0, 50, 430, 460]) {
    made.push({ t: ms(x), kind: 'arp-request', vip: VIP });
    made.push({ t: ms(x + 120), kind: 'arp-reply', vip: VIP, mac: A });
  }
  const ev = captured(made);
  const at500 = baselineOf(ev, [VIP], ms(500), 150);
  t.deepEqual(at500.baseline[VIP], { responders: [A], requests: 2, answers: 2 });
  t.is(at500.ripe, 2, 'the prober waits for more');
  t.deepEqual(baselineOf(ev, [VIP], ms(700), 150).baseline[VIP], { responders: [A], requests: 4, answers: 4 });
  // A holder that really answers half of the requests is still seen as lossy.
  const half: Made[] = [];
  for (let x = 0; x < 400; x += 20) {
    half.push({ t: ms(x), kind: 'arp-request', vip: VIP });
    if (x % 40 === 0) half.push({ t: ms(x + 1), kind: 'arp-reply', vip: VIP, mac: A });
  }
  const b = baselineOf(captured(half), [VIP], ms(600), 150).baseline[VIP]!;
  t.is(b.requests, 20);
  t.is(b.answers, 10);
});

test('settled: after a takeover, the new MAC; after an outage (anyone), the first answer again, the old holder too', (t) => {
  // A answers until 500 ms, nobody until 800, then B.
  const ev = capture(1500);
  t.is(settledAt(ev, ms(500), [VIP], { announce: [] }), ms(801), 'a takeover: B');
  t.is(settledAt(ev, ms(500), [VIP], { announce: ['arp'] }), ms(802), 'and B announced itself');
  // A's outage from 500 ms: back at 800 ms as A itself. Only `anyone` calls that settled.
  const back = capture(1500).map((e) => (e.mac === B ? { ...e, mac: A } : e));
  t.is(settledAt(back, ms(500), [VIP], { announce: [] }), undefined);
  t.is(settledAt(back, ms(500), [VIP], { announce: [], anyone: true }), ms(801));
  t.is(settledAt(capture(400), ms(500), [VIP], { announce: [], anyone: true }), undefined, 'never answered again');
});

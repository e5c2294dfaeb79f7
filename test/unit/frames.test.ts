// The suite's own frames (conformance/frames.ts) and the reference announcer's (agent/packets.ts)
// are written apart; each must read what the other writes, byte for byte where both build the
// same probe. Only here may the two meet.
import test from 'ava';
import {
  arpReply,
  arpRequest,
  gratuitousArp,
  neighborAdvert,
  neighborSolicit,
  parseFrame,
  unsolicitedNeighborAdvert,
} from '../../agent/packets.ts';
import { arpProbe, nsProbe, readFrame } from '../../conformance/frames.ts';

const PROBER = '02:4c:00:00:01:fe',
  HOLDER = '02:4c:00:00:01:02';
const ME4 = '198.18.0.250',
  VIP4 = '198.18.0.100',
  ME6 = 'fd4c:3200:18::fa',
  VIP6 = 'fd4c:3200:18::1:0';

test('the probes: the same bytes as the agent would build, and the agent reads them as requests for the VIP', (t) => {
  t.true(arpProbe(PROBER, ME4, VIP4).equals(arpRequest(PROBER, ME4, VIP4)));
  t.true(nsProbe(PROBER, ME6, VIP6).equals(neighborSolicit(PROBER, ME6, VIP6)));
  t.like(parseFrame(arpProbe(PROBER, ME4, VIP4)), { kind: 'arp', op: 1, targetIp: VIP4, senderMac: PROBER });
  t.like(parseFrame(nsProbe(PROBER, ME6, VIP6)), { kind: 'ns', target: VIP6 });
});

test("the answers: what the suite reads from the agent's replies and announcements", (t) => {
  t.deepEqual(readFrame(arpReply(HOLDER, VIP4, PROBER, ME4)), {
    kind: 'arp',
    op: 2,
    srcMac: HOLDER,
    dstMac: PROBER,
    senderMac: HOLDER,
    senderIp: VIP4,
    targetIp: ME4,
  });
  t.like(readFrame(gratuitousArp(HOLDER, VIP4)), { kind: 'arp', op: 1, senderIp: VIP4, targetIp: VIP4 });
  t.deepEqual(readFrame(neighborAdvert(HOLDER, VIP6, PROBER, ME6)), {
    kind: 'na',
    srcMac: HOLDER,
    dstMac: PROBER,
    dst: ME6,
    target: VIP6,
    router: false,
    solicited: true,
    override: true,
    targetLinkAddr: HOLDER,
  });
  t.like(readFrame(unsolicitedNeighborAdvert(HOLDER, VIP6)), {
    kind: 'na',
    dst: 'ff02::1',
    solicited: false,
    override: true,
    targetLinkAddr: HOLDER,
  });
  t.is(readFrame(Buffer.alloc(10)), undefined);
  // The prober's own solicitation, as its capture sees it leave: who asks, for what; no answer.
  t.deepEqual(readFrame(nsProbe(PROBER, ME6, VIP6)), {
    kind: 'ns',
    srcMac: PROBER,
    dstMac: '33:33:ff:01:00:00',
    src: ME6,
    target: VIP6,
  });
});

// Nodes of the cluster as clients of the VIP (cilium/cilium #27521): the reference announcer is
// reached from a node the policy allows (served locally: every eligible node accepts the VIPs) and
// from one it does not (over the lab switch), also after a failover; the fixture that answers no
// node's ARP leaves the excluded node without an answer, and the check says which and why.
import test from 'ava';
import { fixture, oneCheck, ownLab, testLab } from '../helpers.ts';

const lab = testLab('tnodec', 131);

ownLab(lab);

test.serial(
  'the reference announcer answers the nodes: locally where the VIP is accepted, over the switch elsewhere',
  async (t) => {
    const c = await oneCheck(t, lab, 'reference', 'node-client');
    t.is(c.status, 'passed', `${c.reason}\n${c.details.join('\n')}`);
    const text = c.details.join('\n');
    t.regex(text, /steady: node0[12] \(allowed by the policy; .*\): answered by node0[12] .*served locally/);
    t.regex(
      text,
      /steady: (cp01|node03) \(not allowed by the policy; .*\): answered by node0[12] .*resolved over the lab switch to node0[12]/,
    );
    t.regex(text, /after-failover: (cp01|node03) \(not allowed by the policy; .*\): answered by/);
  },
);

test.serial(
  'an announcer deaf to the nodes (the symptom of #27521): node-client fails for the node that must ask over the switch',
  async (t) => {
    const c = await oneCheck(t, lab, fixture('node-deaf'), 'node-client');
    t.is(c.status, 'failed', c.details.join('\n'));
    t.regex(
      c.reason!,
      /steady: (cp01|node03) \(not allowed by the policy\) got no HTTP answer from [\d.]+ in 2000 ms: its ARP for it went unanswered/,
    );
    t.notRegex(c.reason!, /node0[12] \(allowed/, 'the eligible node is served locally');
    t.deepEqual(
      c.known?.map((k) => k.issue),
      ['cilium/cilium#27521'],
    );
  },
);

const everyone = testLab('tnodea', 135, (d) => {
  delete (d.policy as { nodeSelector?: unknown }).nodeSelector; // every node may announce: none is excluded
});
ownLab(everyone);

test.serial(
  'node-client with no excluded node: every node is served locally, nothing crossed the switch: skipped, not passed',
  async (t) => {
    const c = await oneCheck(t, everyone, 'reference', 'node-client');
    t.is(c.status, 'skipped', c.details.join('\n'));
    t.regex(c.reason!, /no node resolved the VIP over the lab switch .*needs a node the policy excludes/);
    t.regex(c.details.join('\n'), /served locally/);
  },
);

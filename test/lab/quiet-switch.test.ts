// A lab switch that forgets MACs (switch.ageingTime) and drops unicast for a MAC it does not know
// (switch.unknownUnicast: drop): lab:up builds it and turns it back; the reference announcer, which
// announces its VIPs again every third of the ageing time there, is answered after a quiet period
// longer than the ageing time, also right after a failover; the fixture that announces only at
// takeover (as Cilium) is not, and the check says why.
import test from 'ava';
import { run } from '../../lab/command.ts';
import { labUp } from '../../lab/lifecycle.ts';
import * as names from '../../lab/names.ts';
import { fixture, netns, oneCheck, ownLab, quiet, testLab } from '../helpers.ts';

const lab = testLab('tquiet', 130, (d) => {
  d.switch.ageingTime = 2;
  d.switch.unknownUnicast = 'drop';
});
const flooding = testLab('tquiet', 130);

ownLab(lab);

const sys = async (path: string) =>
  (await run(['ip', 'netns', 'exec', names.switchNs(lab.name), 'cat', `/sys/class/net/${path}`])).stdout.trim();

test.serial(
  'lab:up ages the switch table and stops flooding unknown unicast; lab:up without them turns it back',
  async (t) => {
    await labUp(flooding, quiet, netns);
    t.is(await sys(`${names.switchBridge}/bridge/ageing_time`), '30000', "the bridge's own 300 s");
    t.is(await sys('node01/brport/unicast_flood'), '1');
    await labUp(lab, quiet, netns);
    t.is(await sys(`${names.switchBridge}/bridge/ageing_time`), '200');
    for (const port of ['node01', 'node02', 'client']) t.is(await sys(`${port}/brport/unicast_flood`), '0', port);
  },
);

test.serial(
  'the reference announcer, announcing again every third of the ageing time, is answered after the quiet',
  async (t) => {
    const c = await oneCheck(t, lab, 'reference', 'quiet-switch');
    t.is(c.status, 'passed', `${c.reason}\n${c.details.join('\n')}`);
    t.regex(c.details.join('\n'), /steady: node0\d .* the client saw from it: \d+ gratuitous ARPs/);
    t.regex(c.details.join('\n'), /after-failover: node0\d /);
    t.true((c.figures['steady.holder_frames'] as number) >= 3, 'a GARP every 667 ms over 5 s of quiet');
  },
);

test.serial(
  'an announcer that announces only at takeover (as Cilium) is forgotten by the switch: quiet-switch fails, saying why',
  async (t) => {
    const c = await oneCheck(t, lab, fixture('no-refresh'), 'quiet-switch');
    t.is(c.status, 'failed', c.details.join('\n'));
    t.regex(
      c.reason!,
      /steady: no HTTP answer in 2000 ms after 5000 ms of quiet: the switch \(ageing 2 s, unknown unicast dropped\)/,
    );
    t.regex(
      c.reason!,
      /had forgotten node0\d's MAC — the client saw nothing from it — while the client's ARP entry still pointed/,
    );
    t.deepEqual(
      c.known?.map((k) => k.issue),
      ['cilium/cilium#39933'],
      'the behaviour it reproduces is named',
    );
  },
);

// A lab switch that snoops MLD (switch.multicastSnooping): the bridge forwards a neighbour
// solicitation only to the ports that joined its solicited-node group. The reference announcer
// joins its VIPs' groups and is answered, after a failover too; one that never joins (Cilium
// before #46332) is not, and the check says why.
import test from 'ava';
import { run } from '../../lab/command.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labUp } from '../../lab/lifecycle.ts';
import * as names from '../../lab/names.ts';
import { fixture, labFile, netns, ownLab, quickSuite, quiet } from '../helpers.ts';

const lab = loadLab(
  labFile('tsnoop', 117, (d) => {
    d.switch.multicastSnooping = true;
  }),
);
const suite = (subject: string) => quickSuite(lab, subject, ['multicast-snooping']);

ownLab(lab);

test.serial('the lab switch snoops MLD with a querier; lab:up waits until it filters', async (t) => {
  await labUp(lab, quiet, netns);
  const sw = names.switchNs(lab.name);
  const sys = (f: string) =>
    run(['ip', 'netns', 'exec', sw, 'cat', `/sys/class/net/${names.switchBridge}/bridge/${f}`]);
  t.is((await sys('multicast_snooping')).stdout.trim(), '1');
  t.is((await sys('multicast_querier')).stdout.trim(), '1');
  // The nodes' own addresses are joined on their ports: the bridge knows who listens where.
  const mdb = await run(['bridge', '-n', sw, 'mdb', 'show']);
  t.regex(mdb.stdout, /port node01 grp ff02::1:ff/);
});

test.serial(
  'behind it the reference announcer is answered, after a failover too; one that never joins the groups is not',
  async (t) => {
    const r = await suite('reference');
    const c = r.checks.find((x) => x.id === 'multicast-snooping')!;
    t.log(c.details.join('\n'));
    t.is(c.status, 'passed', c.reason);
    t.true((c.figures['steady.answered_pct'] as number) >= 95);
    t.true((c.figures['after-failover.answered_pct'] as number) >= 95);

    const deaf = await suite(fixture('no-mld-join'));
    const d = deaf.checks.find((x) => x.id === 'multicast-snooping')!;
    t.log(d.reason ?? '');
    t.is(d.status, 'failed');
    t.regex(
      d.reason!,
      /steady: fd4c:3200:18::1:\w+ answered 0 of \d+ solicitations behind the snooping switch: its holder does not receive them/,
    );
  },
);

test.serial('a flooding lab switch: the check is skipped, never passed', async (t) => {
  const r = await quickSuite(loadLab(labFile('tsnoop', 117)), 'reference', ['multicast-snooping']);
  const c = r.checks.find((x) => x.id === 'multicast-snooping')!;
  t.is(c.status, 'skipped');
  t.regex(c.reason!, /switch\.multicastSnooping: true/);
  // lab:up turned snooping off again on the running lab's switch.
  const sw = names.switchNs(lab.name);
  const s = await run([
    'ip',
    'netns',
    'exec',
    sw,
    'cat',
    `/sys/class/net/${names.switchBridge}/bridge/multicast_snooping`,
  ]);
  t.is(s.stdout.trim(), '0');
});

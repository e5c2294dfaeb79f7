// Several L2 domains in one lab (labs/domains.yaml: the lab switch and two switches of their own):
// the lab builds them, and the suite sees a service answered in its own domain only, by its own
// nodes, failing over inside it; an announcer whose policy reaches every NIC fails.
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { buildBundles } from '../../conformance/bundles.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { eventually, fixture, labFile, netns, oneCheck, quickSuite, quiet, repo } from '../helpers.ts';

const lab = loadLab(labFile('tdom', 116, () => {}, 'labs/domains.yaml'));
const suite = (subject: string, only: string[]) => quickSuite(lab, subject, only);

test.before(async () => {
  await buildBundles();
  await labDown(lab.name, quiet, netns);
});
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

test.serial('each domain is its own L2 segment: NICs, addresses and labels where the lab file says', async (t) => {
  await labUp(lab, quiet, netns);
  const s = await netns.status(lab, { probe: true });
  t.is(s.state, 'up');
  const nics = (h: string) =>
    [...[...s.nodes, s.client].find((x) => x.name === h)!.interfaces.map((i) => i.name)].sort();
  t.deepEqual(nics('node01'), ['eth0', 'eth1', 'eth2'], 'node01: red only');
  t.deepEqual(nics('node02'), ['eth0', 'eth1', 'eth2', 'eth3'], 'node02: red and blue');
  t.deepEqual(nics('client'), ['eth1', 'eth2', 'eth3'], 'the client: every domain');
  t.is(s.nodes.find((n) => n.name === 'node03')!.labels['l2lab.io/domain-blue'], 'true');
  // Real L2 segments: the client reaches node03 on blue, and red's subnet has no node03.
  const ping = (ip: string) => netns.exec(lab, 'client', ['ping', '-c1', '-W1', ip]);
  t.is((await ping('198.18.200.14')).exitCode, 0, 'node03 on blue');
  t.not((await ping('198.18.100.14')).exitCode, 0, 'node03 is not on red');
  // A frame on red never reaches blue: node03 sees no ARP for a red address.
  const arp = await netns.exec(lab, 'node03', ['ip', 'neigh', 'show', '198.18.100.200']);
  t.is(arp.stdout.trim(), '');
});

test.serial('switch-down takes one L2 domain dark, and only it; lab:up leaves it dark until undone', async (t) => {
  const cli = (...a: string[]) =>
    execa('node', [join(repo, 'scripts', 'run.mjs'), 'lab', 'fault', ...a, '--lab', lab.file], { reject: false });
  const ping = (ip: string) => netns.exec(lab, 'client', ['ping', '-c1', '-W1', ip]);
  const bad = await cli('inject', 'switch-down', 'green');
  t.not(bad.exitCode, 0);
  t.regex(bad.stderr, /switch-down takes "switch" \(the lab switch\) or an L2 domain \(red, blue\), not "green"/);
  t.is((await cli('inject', 'switch-down', 'blue')).exitCode, 0);
  try {
    const s = await netns.status(lab);
    const up = (h: string, i: string) =>
      [...s.nodes, s.client].find((x) => x.name === h)!.interfaces.find((x) => x.name === i)!.up;
    t.deepEqual(
      [up('node02', 'eth3'), up('node03', 'eth3'), up('client', 'eth3')],
      [false, false, false],
      'every port of blue dark',
    );
    t.true(up('node02', 'eth2') && up('node02', 'eth1'), 'red and the lab switch untouched');
    t.not((await ping('198.18.200.14')).exitCode, 0, 'nothing across blue');
    t.is((await ping('198.18.100.13')).exitCode, 0, 'red still carries');
    t.deepEqual((await labUp(lab, quiet, netns)).changes, [], 'lab:up leaves the dark domain alone');
  } finally {
    t.is((await cli('undo', 'switch-down', 'blue')).exitCode, 0);
  }
  // carrier back on every port of blue: the client's failed neighbour entry resolves again (CI once: not within one 1 s ping)
  t.true(await eventually(async () => (await ping('198.18.200.14')).exitCode === 0, 5000), 'blue back');
});

test.serial(
  'the reference announcer keeps each service in its own L2 domain, failover included; a policy reaching every NIC leaks',
  async (t) => {
    const r = await suite('reference', ['domain-isolation']);
    const c = r.checks.find((x) => x.id === 'domain-isolation')!;
    t.log(c.details.join('\n'));
    t.is(c.status, 'passed', c.reason);
    for (const d of ['red', 'blue']) {
      t.is(c.figures[`${d}.arp.responders`], 1);
      t.is(c.figures[`${d}.leaks`], 0);
      const ms = c.figures[`${d}.failover.arp_ms`] as number;
      t.true(ms > 0 && ms < 2000, `${d}: failover in ${ms} ms`);
    }
    t.true(r.vips.some((v) => v.domain === 'red' && v.ipv4?.startsWith('198.18.100.')));

    const leak = await suite(fixture('domain-leak'), ['domain-isolation']);
    const l = leak.checks.find((x) => x.id === 'domain-isolation')!;
    t.log(l.reason!);
    t.is(l.status, 'failed');
    t.regex(
      l.reason!,
      /domain red: 198\.18\.100\.\d+ ARP answered on eth1 \(the lab switch\) by node0[12]: announced outside its L2 domain/,
    );
  },
);

test.serial(
  'nic-remove takes a domain NIC out of a running node; lab:up leaves it out; undo plugs it in configured',
  async (t) => {
    const cli = (...a: string[]) =>
      execa('node', [join(repo, 'scripts', 'run.mjs'), 'lab', 'fault', ...a, '--lab', lab.file], { reject: false });
    const links = async () =>
      (await netns.exec(lab, 'node01', ['ip', '-br', 'link'])).stdout
        .split('\n')
        .map((l) => l.split(/\s+/)[0]!.split('@')[0]!)
        .filter(Boolean);
    const ping = () => netns.exec(lab, 'client', ['ping', '-c1', '-W1', '198.18.100.12']);
    const bad = await cli('inject', 'nic-remove', 'node01', 'eth1');
    t.is(bad.exitCode, 2, bad.stderr);
    t.regex(bad.stderr, /nic-remove takes a NIC of node01 in a further L2 domain \(eth2: red\), not "eth1"/);
    t.true((await links()).includes('eth2'), 'nothing taken out on bad input');

    t.is((await cli('inject', 'nic-remove', 'node01', 'eth2')).exitCode, 0);
    try {
      t.false((await links()).includes('eth2'), 'the interface is gone');
      t.deepEqual((await labUp(lab, quiet, netns)).changes, [], 'lab:up leaves the NIC out');
      t.not((await ping()).exitCode, 0, 'nothing reaches node01 on red');
    } finally {
      t.is((await cli('undo', 'nic-remove', 'node01', 'eth2')).exitCode, 0);
    }
    t.true((await links()).includes('eth2'));
    const addr = (await netns.exec(lab, 'node01', ['ip', '-br', 'addr', 'show', 'eth2'])).stdout;
    t.regex(addr, /UP +198\.18\.100\.12\/24 fd4c:3200:18:100::12\/64/);
    t.true(await eventually(async () => (await ping()).exitCode === 0, 5000), 'node01 on red again');
    t.deepEqual((await labUp(lab, quiet, netns)).changes, [], 'as lab:up would have built it');
  },
);

test.serial(
  'late-interface: the reference announces on a NIC plugged in after its start; one that reads interfaces only at start does not',
  async (t) => {
    const c = await oneCheck(t, lab, 'reference', 'late-interface');
    t.is(c.status, 'passed', c.reason);
    t.regex(c.details.join('\n'), /node01 eth2 plugged in: 198\.18\.100\.\d+ answered by node01\/eth2 after \d+ ms/);
    t.is(c.figures['without.responders'], 0, 'nobody answered while no eligible node had the NIC');
    const ms = c.figures.arp_ms as number;
    t.true(ms >= 0 && ms < 1000, `answered ${ms} ms after the plug-in`);

    const f = await oneCheck(t, lab, fixture('static-interfaces'), 'late-interface');
    t.is(f.status, 'failed');
    t.regex(
      f.reason!,
      /198\.18\.100\.\d+ ARP: not answered on node01's eth2 within \d+ ms of its plug-in: the announcer did not pick up the new NIC/,
    );
    t.deepEqual(
      f.known?.map((k) => k.issue),
      ['cilium/cilium#45719'],
    );
  },
);

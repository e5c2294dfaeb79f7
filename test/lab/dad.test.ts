// switch.dad: the hosts' lab NICs run IPv6 duplicate address detection, as a real host does. lab:up
// turns it on and off on a running lab; an address is usable (not tentative) when lab:up or a power
// on returns, after a solicitation from :: for it went over the switch; an address another machine
// holds fails DAD, and the power on says so, naming it.
import { spawn } from 'node:child_process';
import test from 'ava';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import * as names from '../../lab/names.ts';
import type { Lab } from '../../lab/types.ts';
import { netns, quiet, testLab } from '../helpers.ts';

const withDad = testLab('tdad', 129, (d) => {
  d.switch.dad = true;
});
const withoutDad = testLab('tdad', 129);
const node01 = withDad.nodes.find((n) => n.name === 'node01')!;
const v6 = node01.interfaces.find((i) => i.network === 'switch')!.ipv6!;
const power = (on: boolean) => netns.power!(withDad, 'node01', on);

test.before(async () => {
  await labDown(withDad.name, quiet, netns);
});
test.after.always(async () => {
  await labDown(withDad.name, quiet, netns);
});

const acceptDad = async (lab: Lab, host: string, key: string) =>
  (await netns.exec(lab, host, ['cat', `/proc/sys/net/ipv6/conf/${key}/accept_dad`])).stdout.trim();
const tentative = async (lab: Lab, host: string) =>
  (await netns.exec(lab, host, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth1', 'tentative'])).stdout.trim();

/** NS frames from :: (DAD) seen on the lab switch while fn runs. */
async function dadSolicitations(lab: Lab, fn: () => Promise<unknown>): Promise<string> {
  const filter = 'icmp6 and ip6[40] == 135 and src host ::';
  const cap = spawn('ip', [
    'netns',
    'exec',
    names.switchNs(lab.name),
    'tcpdump',
    '--immediate-mode',
    '-l',
    '-ni',
    names.switchBridge,
    filter,
  ]);
  let out = '';
  cap.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => cap.on('exit', () => resolve()));
  await new Promise<void>((resolve) => {
    cap.stderr.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) resolve();
    });
    cap.on('exit', () => resolve());
  });
  try {
    await fn();
  } finally {
    cap.kill('SIGINT');
    await exited;
  }
  return out;
}

test.serial('lab:up with switch.dad: accept_dad on the lab NICs, every address past DAD when it returns', async (t) => {
  await labUp(withDad, quiet, netns);
  for (const host of ['node01', 'client']) {
    t.is(await acceptDad(withDad, host, 'eth1'), '1', `${host} eth1`);
    t.is(await acceptDad(withDad, host, 'default'), '1', `${host}: links made later (FRR's macvlans) too`);
    t.is(await tentative(withDad, host), '', `${host}: an address still tentative after lab:up`);
  }
  // The same lab without it: lab:up turns it off on the running lab, and on again.
  await labUp(withoutDad, quiet, netns);
  t.is(await acceptDad(withoutDad, 'node01', 'eth1'), '0');
  t.is(await acceptDad(withoutDad, 'node01', 'default'), '0');
  await labUp(withDad, quiet, netns);
  t.is(await acceptDad(withDad, 'node01', 'eth1'), '1');
});

test.serial('a power cycle runs DAD again; the power on returns once the address is usable', async (t) => {
  await power(false);
  const seen = await dadSolicitations(withDad, () => power(true));
  t.true(seen.includes(`who has ${v6}`), `no DAD solicitation for ${v6} on the switch:\n${seen}`);
  t.is(await tentative(withDad, 'node01'), '');
});

test.serial('an address another machine holds fails DAD: the power on says which, and where', async (t) => {
  // The client takes node01's address (nodad: it answers at once) while node01 is off.
  await power(false);
  const clash = ['ip', '-6', 'addr', 'add', `${v6}/64`, 'dev', 'eth1', 'nodad'];
  t.is((await netns.exec(withDad, 'client', clash)).exitCode, 0);
  try {
    const e = await t.throwsAsync(() => power(true));
    t.regex(e!.message, new RegExp(`node01: duplicate address detection failed for ${v6} on eth1: another machine`));
  } finally {
    await netns.exec(withDad, 'client', ['ip', '-6', 'addr', 'del', `${v6}/64`, 'dev', 'eth1']);
  }
  // Mended: a power cycle and it passes.
  await power(false);
  await power(true);
  t.is(await tentative(withDad, 'node01'), '');
});

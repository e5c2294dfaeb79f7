// The lab's BMC, driven by Debian's real fence_redfish from a lab node over the management network:
// status, power off (a power cut: what the machine's daemons configured at runtime is gone at
// power on, as on a real machine), power on; a wrong password changes nothing; lab:down stops it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { BMC_PORT } from '../../lab/bmc.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { labPaths } from '../../lab/names.ts';
import { eventually, l2lab, netns, quiet, running, testLab } from '../helpers.ts';

const lab = testLab('tbmc', 128);
const bmcDir = join(labPaths(lab.name).dir, 'bmc');

test.before(async () => {
  await labDown(lab.name, quiet, netns);
  await labUp(lab, quiet, netns);
});
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

interface Bmc {
  host: string;
  port: number;
  user: string;
  password: string;
  systems: Record<string, string>;
  started: boolean;
}
let bmc: Bmc;

/** fence_redfish on node02 against node01's System, as Pacemaker's fencer runs it. */
const fence = (action: string, password = bmc.password) =>
  netns.exec(lab, 'node02', [
    'fence_redfish',
    `--ip=${bmc.host}`,
    `--ipport=${bmc.port}`,
    `--username=${bmc.user}`,
    `--password=${password}`,
    '--ssl-insecure',
    `--systems-uri=${bmc.systems.node01}`,
    `--action=${action}`,
  ]);

test.serial('l2lab lab bmc starts the BMC once, on the management address, and says where it is', async (t) => {
  const first = await l2lab(['lab', 'bmc', '--name', lab.name, '--json']);
  t.is(first.exitCode, 0, first.stderr);
  bmc = JSON.parse(first.stdout) as Bmc;
  t.true(bmc.started);
  t.is(bmc.host, lab.management.hostAddress);
  t.is(bmc.port, BMC_PORT);
  t.deepEqual(Object.keys(bmc.systems).sort(), lab.nodes.map((n) => n.name).sort());
  const again = await l2lab(['lab', 'bmc', '--name', lab.name, '--json']);
  t.false((JSON.parse(again.stdout) as Bmc).started, 'a second call finds it running');
});

test.serial(
  'fence_redfish powers a node off and on through it; the power cycle drops what was configured at runtime',
  async (t) => {
    t.regex((await fence('status')).stdout, /Status: ON/);
    // A VIP as IPaddr2 or keepalived adds it: gone after a power cycle, the lab file's addresses back.
    const eth1 = lab.nodes[1]!.interfaces.find((i) => i.name === 'eth1')!;
    t.is((await netns.exec(lab, 'node01', ['ip', 'addr', 'add', '198.18.0.250/32', 'dev', 'eth1'])).exitCode, 0);
    const off = await fence('off');
    t.is(off.exitCode, 0, off.stderr);
    t.false((await netns.status(lab)).nodes.find((n) => n.name === 'node01')!.powered);
    t.regex((await fence('status')).stdout, /Status: OFF/);
    const on = await fence('on');
    t.is(on.exitCode, 0, on.stderr);
    t.regex((await fence('status')).stdout, /Status: ON/);
    const addrs = (await netns.exec(lab, 'node01', ['ip', '-o', 'addr', 'show', 'dev', 'eth1'])).stdout;
    t.false(addrs.includes('198.18.0.250'), addrs);
    t.true(addrs.includes(`${eth1.ipv4}/`), addrs);
    t.true(addrs.includes(`${eth1.ipv6}/`), addrs);
    const log = readFileSync(join(bmcDir, 'bmc.log'), 'utf8');
    t.regex(log, /node01: ForceOff asked by 198\.\d+\.\d+\.\d+\n.*node01: ForceOff done/);
    t.regex(log, /node01: On asked by/);
  },
);

test.serial('a wrong password is refused: fence_redfish fails and the node stays on', async (t) => {
  const before = readFileSync(join(bmcDir, 'bmc.log'), 'utf8');
  const r = await fence('off', 'wrong');
  t.not(r.exitCode, 0);
  t.true((await netns.status(lab)).nodes.find((n) => n.name === 'node01')!.powered);
  t.is(readFileSync(join(bmcDir, 'bmc.log'), 'utf8'), before, 'no action logged');
});

test.serial('lab:down stops the BMC', async (t) => {
  const pid = Number(readFileSync(join(bmcDir, 'pid'), 'utf8'));
  await labDown(lab.name, quiet, netns);
  t.true(await eventually(async () => !running(pid), 5000), `BMC pid ${pid} still runs`);
  t.false(existsSync(bmcDir));
});

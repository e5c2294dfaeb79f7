// lab:up is idempotent and repairs: a second run changes nothing; a run killed mid-way is
// finished by the next one; drift (a deleted link, a killed node) is put back. Through the CLI.

import { spawn } from 'node:child_process';
import test from 'ava';
import { run } from '../../lab/command.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import type { LabStatus } from '../../lab/types.ts';
import { hostSnapshot, L2LAB, l2lab, labFile, netns, quiet, repo } from '../helpers.ts';

const file = labFile('trep', 102);
const lab = loadLab(file);
const cli = (...args: string[]) => l2lab(['lab', ...args]);

test.before(async () => {
  await labDown(lab.name, quiet, netns);
});
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

test.serial('lab:up killed mid-way, then lab:up finishes the lab, then lab:down removes all of it', async (t) => {
  const child = spawn('node', [L2LAB, 'lab', 'up', '--lab', file], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let seen = '';
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      // Kill it once it has created some namespaces but before it has booted the nodes.
      if (/\+ namespace l2l-trep-node02/.test(seen) && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => resolve());
  });
  t.true(child.killed, `lab:up was killed mid-way (saw: ${seen.slice(-200)})`);
  await new Promise((r) => child.once('exit', r));
  const half = await hostSnapshot(lab.name);
  t.true(half.namespaces.length > 0, 'something was half-built');

  const up = await cli('up', '--lab', file, '--json');
  t.is(up.exitCode, 0, up.stderr);
  const s = JSON.parse(up.stdout) as LabStatus;
  t.is(s.state, 'up');
  t.true(s.nodes.every((n) => n.sshd && n.powered));

  const down = await cli('down', '--lab', file);
  t.is(down.exitCode, 0, down.stderr);
  t.deepEqual(await hostSnapshot(lab.name), { namespaces: [], links: [], mounts: [], processes: [], state: false });
});

test.serial(
  'a second lab:up changes nothing and says so; drift is repaired; up by name repairs the lab as it was built',
  async (t) => {
    const first = await cli('up', '--lab', file);
    t.is(first.exitCode, 0, first.stderr);
    t.regex(first.stdout, /is up: \d+ changes/);
    const second = await cli('up', '--lab', file);
    t.is(second.exitCode, 0, second.stderr);
    t.regex(second.stdout, /is up: nothing to change/);
    t.notRegex(second.stderr, /\[trep\] \+ /, 'no step ran');

    // Drift: a switch port deleted, a node's init killed, an address removed.
    await run(['ip', '-n', 'l2l-trep-switch', 'link', 'del', 'node02']);
    await run(['ip', '-n', 'l2l-trep-node03', 'addr', 'del', '198.18.0.14/24', 'dev', 'eth1']);
    const init = Number((await run(['cat', '/var/lib/l2l-trep/nodes/node01/init.pid'])).stdout);
    process.kill(init, 'SIGKILL');
    const repaired = await labUp(lab, quiet, netns);
    t.true(
      repaired.changes.some((c) => c.includes('node02: eth1 on the lab switch')),
      repaired.changes.join('\n'),
    );
    t.true(repaired.changes.includes('node03: 198.18.0.14/24 on eth1'));
    t.true(repaired.changes.includes('node01: boot'));
    t.is((await netns.status(lab)).state, 'up');
    // By name, as it was built (its file may have moved): the same drift repaired again.
    await run(['ip', '-n', 'l2l-trep-switch', 'link', 'del', 'node02']);
    const byName = await cli('up', '--name', 'trep');
    t.is(byName.exitCode, 0, byName.stderr);
    t.regex(byName.stdout, /lab trep is up: [1-9]\d* changes/);
    t.is((await netns.status(lab)).state, 'up');
  },
);

test.serial('status and ssh through the CLI', async (t) => {
  const st = await cli('status', '--name', 'trep', '--json');
  t.is(st.exitCode, 0, st.stderr);
  t.is((JSON.parse(st.stdout) as LabStatus).lab, 'trep');
  const human = await cli('status', '--lab', file);
  t.regex(human.stdout, /node03 +worker +datacenter=dc3 +on +up/);
  const ssh = await cli('ssh', 'node02', '--lab', file, '--', 'hostname');
  t.is(ssh.exitCode, 0, ssh.stderr);
  t.is(ssh.stdout.trim(), 'node02');
  const bad = await cli('ssh', 'node7', '--lab', file, '--', 'true');
  t.is(bad.exitCode, 2, 'a node the lab lacks is bad input');
  t.regex(bad.stderr, /no node "node7".*nodes: cp01, node01/);
});

test('bad input: a bad lab file or flag exits 2 before anything is created', async (t) => {
  const broken = labFile('tbad', 103, (d) => {
    d.nodes[1].labls = {};
    d.pool.blocks[0] = { cidr: '10.0.10.0/24' };
  });
  const r = await cli('up', '--lab', broken);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /nodes\[1\]: unknown key "labls"/);
  t.regex(r.stderr, /pool\.blocks\[0\]: 10\.0\.10\.0\/24 lies outside the switch subnet/);
  t.deepEqual(await hostSnapshot('tbad'), { namespaces: [], links: [], mounts: [], processes: [], state: false });
  const flag = await cli('up', '--lab', broken, '--colour');
  t.is(flag.exitCode, 2);
  t.regex(flag.stderr, /unknown option '--colour'[\s\S]*add --help for usage/);
  const missing = await cli('status', '--lab', '/nonexistent/lab.yaml');
  t.is(missing.exitCode, 2);
  t.regex(missing.stderr, /cannot read the lab file \(ENOENT\); pass an existing file with --lab FILE/);
});

test.serial('a second lab whose management subnet is taken is refused, and nothing of it is left', async (t) => {
  const clash = labFile('tclash', 102); // trep's management subnet
  const up = await cli('up', '--lab', clash);
  t.is(up.exitCode, 2, 'a subnet this host already routes is bad input');
  t.regex(
    up.stderr,
    new RegExp(
      String.raw`management\.ipv4 198\.19\.102\.0/24 is already routed on this host ` +
        String.raw`\(198\.19\.102\.0/24 dev l2l-trep-br\); choose another management subnet`,
    ),
  );
  t.regex(up.stderr, /Nothing was left behind \(rolled back\)/);
  t.deepEqual(await hostSnapshot('tclash'), { namespaces: [], links: [], mounts: [], processes: [], state: false });
});

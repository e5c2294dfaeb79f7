// The netns lab for real: up → status → L2 reachability → SSH with pinned keys → private
// files → every fault and its undo → down leaves nothing. Runs as root on this machine.

import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { ipJson, run } from '../../lab/command.ts';
import { injectFault, undoFault } from '../../lab/faults/index.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { connect, endpointOf, isConnectionLost, sshBanner } from '../../lab/ssh.ts';
import { SshMachines } from '../../lab/ssh-machines.ts';
import { type LabStatus, MANAGEMENT_INTERFACE } from '../../lab/types.ts';
import { arping, eventually, hostSnapshot, labPids, netns, ping6, quiet, repo, running, testLab } from '../helpers.ts';

const lab = testLab('tlab', 101);
const eth1 = (name: string) =>
  [...lab.nodes, lab.client].find((h) => h.name === name)!.interfaces.find((i) => i.name === 'eth1')!;
let seenPids: number[] = [];

test.before(async () => {
  await labDown(lab.name, quiet, netns); // a previous run that died
  await labUp(lab, quiet, netns);
});

test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

test.serial('status JSON matches the lab file', async (t) => {
  const s: LabStatus = await netns.status(lab);
  t.is(s.schema, 'l2lab.status/v1');
  t.is(s.state, 'up');
  t.deepEqual(
    s.nodes.map((n) => [n.name, n.role, n.labels]),
    lab.nodes.map((n) => [n.name, n.role, n.labels]),
  );
  for (const [st, want] of [...s.nodes, s.client].map((h, i) => [h, [...lab.nodes, lab.client][i]!] as const)) {
    t.true(st.powered, `${st.name} powered`);
    t.deepEqual(
      st.interfaces.map(({ up, ...rest }) => rest),
      want.interfaces,
      `${st.name} interfaces as in the lab file`,
    );
    t.true(
      st.interfaces.every((i) => i.up),
      `${st.name} links up`,
    );
  }
  t.true(s.nodes.every((n) => n.sshd && n.ssh?.hostKey.startsWith('ssh-ed25519 ')));
  // The live MACs are the derived ones, read back from the kernel.
  const live = await ipJson<{ ifname: string; address: string; addr_info: { local: string }[] }[]>([
    '-n',
    'l2l-tlab-node01',
    'addr',
    'show',
    'eth1',
  ]);
  t.is(live[0]!.address, eth1('node01').mac);
  t.true(live[0]!.addr_info.some((a) => a.local === eth1('node01').ipv6));
  t.deepEqual(s.faults, []);
});

test.serial('the client reaches every node on the lab switch by ARP and NDP, and nothing else', async (t) => {
  for (const n of lab.nodes) {
    t.true(await arping(lab, eth1(n.name).ipv4), `arping ${n.name}`);
    t.true(await ping6(lab, eth1(n.name).ipv6!), `ping6 ${n.name}`);
  }
  // No default route anywhere in the lab; the host's own addresses are out of reach.
  for (const h of [...lab.nodes, lab.client]) {
    const routes = (await netns.exec(lab, h.name, ['ip', '-j', 'route', 'show', 'default'])).stdout.trim();
    t.deepEqual(JSON.parse(routes || '[]'), [], `${h.name} has no default route`);
  }
  const hostAddrs = (
    await ipJson<{ ifname: string; addr_info: { local: string; family: string; scope: string }[] }[]>(['addr', 'show'])
  )
    .filter((l) => !l.ifname.startsWith('l2l-'))
    .flatMap((l) => l.addr_info)
    .filter((a) => a.scope === 'global')
    .map((a) => a.local);
  t.true(hostAddrs.length > 0);
  for (const a of [...hostAddrs, lab.management.hostAddress]) {
    const r = await netns.exec(lab, lab.client.name, ['ping', '-q', '-c', '1', '-W', '1', a]);
    t.not(r.exitCode, 0, `client must not reach host address ${a}`);
  }
  // The switch is in its own namespace: the host has no lab-switch bridge or address.
  t.false((await run(['ip', '-o', 'addr', 'show'])).stdout.includes('198.18.0.'));
});

test.serial('SSH into each node with the pinned host key; a wrong key is refused', async (t) => {
  const s = await netns.status(lab);
  for (const n of lab.nodes) {
    const ssh = await connect(s, n.name);
    try {
      const r = await ssh.execCommand('hostname && id -u');
      t.is(r.stdout, `${n.name}\n0`);
    } finally {
      ssh.dispose();
    }
  }
  const swapped: LabStatus = {
    ...s,
    nodes: s.nodes.map((n) =>
      n.name === 'node01' ? { ...n, ssh: { ...n.ssh!, hostKey: s.nodes[2]!.ssh!.hostKey } } : n,
    ),
  };
  await t.throwsAsync(() => connect(swapped, 'node01'), { message: /host key does not match the pinned key/ });
  // The OpenSSH client with the lab's known_hosts (what lab:ssh runs).
  const r = await run([
    'ssh',
    '-i',
    s.ssh.identityFile,
    '-o',
    `UserKnownHostsFile=${s.ssh.knownHostsFile}`,
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'BatchMode=yes',
    `root@${s.nodes[1]!.ssh!.host}`,
    'hostname',
  ]);
  t.is(r.stdout.trim(), 'node01');
});

test.serial('node-private /etc, state and /run: what node01 writes, node02 and the host do not see', async (t) => {
  const s = await netns.status(lab);
  const a = await connect(s, 'node01');
  const b = await connect(s, 'node02');
  try {
    await a.execCommand(
      'echo one > /etc/l2lab/probe && echo one > /var/lib/l2lab/probe && echo one > /var/log/l2lab/probe && echo one > /run/l2lab/probe',
    );
    for (const p of ['/etc/l2lab/probe', '/var/lib/l2lab/probe', '/var/log/l2lab/probe', '/run/l2lab/probe']) {
      t.is((await a.execCommand(`cat ${p}`)).stdout, 'one', `${p} on node01`);
      t.not((await b.execCommand(`cat ${p}`)).code, 0, `${p} must not exist on node02`);
      t.false((await run(['test', '-e', p], { check: false })).exitCode === 0, `${p} must not exist on the host`);
    }
    t.is((await b.execCommand('hostname; cat /etc/hostname')).stdout, 'node02\nnode02');
    // The node sees only its own processes (own PID namespace).
    t.is((await a.execCommand('cat /proc/1/comm')).stdout, 'tini');
  } finally {
    a.dispose();
    b.dispose();
  }
});

test.serial(
  'power off kills every process of the node at once and cuts its links; power on brings it back as it was',
  async (t) => {
    const pids = (await run(['ip', 'netns', 'pids', 'l2l-tlab-node01'])).stdout
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    t.true(pids.length >= 3, 'unshare, tini, sleep, sshd');
    await injectFault(netns, lab, { kind: 'power-off', node: 'node01' });
    t.deepEqual(pids.filter(running), []);
    t.false(await arping(lab, eth1('node01').ipv4));
    t.false(await sshBanner('198.19.101.12', 300));
    let s = await netns.status(lab);
    const n1 = s.nodes.find((n) => n.name === 'node01')!;
    t.false(n1.powered);
    t.true(n1.interfaces.every((i) => !i.up));
    t.is(s.state, 'degraded');
    t.deepEqual(s.faults, [{ kind: 'power-off', node: 'node01' }]);
    t.true(await arping(lab, eth1('node02').ipv4), 'the other nodes keep running');

    // lab:up leaves a deliberate fault alone.
    const again = await labUp(lab, quiet, netns);
    t.deepEqual(again.changes, []);

    await undoFault(netns, lab, { kind: 'power-off', node: 'node01' });
    s = await netns.status(lab);
    t.is(s.state, 'up');
    t.true(await arping(lab, eth1('node01').ipv4));
    const ssh = await connect(s, 'node01');
    try {
      t.is(
        (await ssh.execCommand('cat /etc/l2lab/probe /var/lib/l2lab/probe')).stdout,
        'one\none',
        'disk survives a power cycle',
      );
      t.not((await ssh.execCommand('cat /run/l2lab/probe')).code, 0, '/run is empty after boot');
    } finally {
      ssh.dispose();
    }
  },
);

test.serial('link down on eth1 cuts the switch but not management; link up restores it', async (t) => {
  await injectFault(netns, lab, { kind: 'link-down', node: 'node02', iface: 'eth1' });
  t.false(await arping(lab, eth1('node02').ipv4));
  t.true(await sshBanner('198.19.101.13', 1000), 'management still up');
  const link = (await netns.status(lab)).nodes
    .find((n) => n.name === 'node02')!
    .interfaces.find((i) => i.name === 'eth1')!;
  t.false(link.up, 'node02 sees no carrier on eth1');
  const ipv6 = (await netns.exec(lab, 'node02', ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth1', 'scope', 'global']))
    .stdout;
  t.true(ipv6.includes(eth1('node02').ipv6!), 'a pulled cable keeps the configuration');
  t.deepEqual((await labUp(lab, quiet, netns)).changes, [], 'lab:up leaves the pulled cable alone');
  await undoFault(netns, lab, { kind: 'link-down', node: 'node02', iface: 'eth1' });
  t.true(await arping(lab, eth1('node02').ipv4));
});

test.serial('process stop and start; pause and resume', async (t) => {
  await injectFault(netns, lab, { kind: 'process-stop', node: 'node03', process: 'sshd', signal: 'KILL' });
  t.false(await sshBanner('198.19.101.14', 300));
  await undoFault(netns, lab, { kind: 'process-stop', node: 'node03', process: 'sshd' });
  t.true(await eventually(() => sshBanner('198.19.101.14', 300), 3000));

  await injectFault(netns, lab, { kind: 'pause', node: 'cp01', process: 'sshd' });
  const state = (
    await netns.exec(lab, 'cp01', ['sh', '-c', 'cut -d" " -f3 /proc/$(cat /run/l2lab/sshd.pid)/stat'])
  ).stdout.trim();
  t.is(state, 'T', 'stopped by SIGSTOP');
  t.false(await sshBanner('198.19.101.11', 500), 'a paused sshd sends no banner');
  await undoFault(netns, lab, { kind: 'pause', node: 'cp01', process: 'sshd' });
  t.true(await eventually(() => sshBanner('198.19.101.11', 300), 3000));
  t.deepEqual((await netns.status(lab)).faults, []);
});

test.serial('a connection reset by the far end is told apart from a failed command (callers reconnect)', async (t) => {
  const s = await netns.status(lab);
  const ssh = await connect(s, 'node01');
  try {
    t.is((await ssh.execCommand('false')).code, 1, 'a failing command is no lost connection');
    t.false(isConnectionLost(new Error('hostname on node01: timed out after 60000 ms'), ssh), 'the connection is up');
    // What a rebooted machine does to the old connection: the kernel forgets it and resets it.
    await netns.exec(lab, 'node01', ['ss', '-K', 'state', 'established', '( sport = :22 )']);
    const e = await t.throwsAsync(() => ssh.execCommand('hostname'));
    t.true(isConnectionLost(e, ssh), `${e?.message}`);
    t.false(ssh.isConnected(), 'the client dropped it: callers reconnect');
  } finally {
    ssh.dispose();
  }
});

test.serial(
  'a command that times out drops its cached connection only if the connection is dead: others running on a live one go on',
  async (t) => {
    const s = await netns.status(lab);
    const machines = new SshMachines((_lab, host) => endpointOf(s, host), 'is node01 up?', 1000);
    t.teardown(() => machines.close());
    const first = await machines.conn(lab, 'node01');
    // Live: a slow command times out while another runs beside it on the same connection.
    const beside = machines.exec(lab, 'node01', ['sh', '-c', 'sleep 2; echo done']);
    await t.throwsAsync(machines.exec(lab, 'node01', ['sleep', '5'], { timeoutMs: 300 }), {
      message: /timed out after 300 ms/,
    });
    t.is((await beside).stdout.trim(), 'done', 'the other command went on');
    t.is(await machines.conn(lab, 'node01'), first, 'the live connection is kept');
    // Dead (its packets go nowhere, as to a machine power-cycled behind it): dropped.
    await netns.carrier!(lab, 'node01', MANAGEMENT_INTERFACE, false);
    try {
      await t.throwsAsync(machines.exec(lab, 'node01', ['true'], { timeoutMs: 300 }), { message: /timed out/ });
      // The check's own `true` gets no answer either: dropped (closed) after aliveMs, 1 s here.
      t.true(await eventually(async () => !first.isConnected(), 5000), 'the dead connection is dropped');
    } finally {
      await netns.carrier!(lab, 'node01', MANAGEMENT_INTERFACE, true);
    }
    t.not(await machines.conn(lab, 'node01'), first, 'a fresh connection after the dead one');
  },
);

test.serial('unknown nodes, interfaces and processes are refused with the valid names', async (t) => {
  await t.throwsAsync(() => injectFault(netns, lab, { kind: 'power-off', node: 'node9' }), {
    message: /no machine "node9".*cp01, node01/,
  });
  await t.throwsAsync(() => injectFault(netns, lab, { kind: 'link-down', node: 'node01', iface: 'eth7' }), {
    message: /no interface eth7; it has eth0, eth1/,
  });
  await t.throwsAsync(() => injectFault(netns, lab, { kind: 'process-stop', node: 'node01', process: 'nope' }), {
    message: /no service 'nope'/,
  });
});

test.serial(
  'lab:fault on the command line: every kind from the registry, its words checked, lab:up leaves it alone',
  async (t) => {
    const cli = (...a: string[]) =>
      execa('node', [join(repo, 'scripts', 'run.mjs'), 'lab', 'fault', ...a, '--lab', lab.file], { reject: false });
    const help = await cli('--help');
    for (const k of [
      'power-off NODE',
      'link-down NODE IFACE',
      'network-off NODE',
      'graceful-stop NODE PROCESS',
      'process-stop NODE PROCESS [--signal SIGNAL]',
    ])
      t.true(help.stdout.includes(k), `usage lists ${k}`);
    const inj = await cli('inject', 'network-off', 'node02');
    t.is(inj.exitCode, 0, inj.stderr);
    t.regex(inj.stdout, /injected: every cable of node02 pulled/);
    const down = (await netns.status(lab)).nodes
      .find((n) => n.name === 'node02')!
      .interfaces.filter((i) => !i.up)
      .map((i) => i.name);
    t.deepEqual(down.sort(), ['eth0', 'eth1']);
    t.regex((await cli('list')).stdout, /every cable of node02 pulled \(network off\)/);
    t.true(
      (await labUp(lab, quiet, netns)).changes.every((c) => !c.includes('node02')),
      'lab:up leaves the fault alone',
    );
    t.is((await cli('undo', 'network-off', 'node02')).exitCode, 0);
    t.true((await netns.status(lab)).nodes.find((n) => n.name === 'node02')!.interfaces.every((i) => i.up));
    for (const [args, msg] of [
      [['inject', 'link-down', 'node02'], /fault link-down needs the interface \(eth0 or eth1\) after node02/],
      [['inject', 'power-off', 'node02', '--signal', 'KILL'], /--signal does not apply to power-off/],
      [['inject', 'melt', 'node02'], /unknown fault kind "melt"; kinds: power-off, link-down, network-off/],
      [['inject', 'process-stop', 'node02', 'sshd', '--signal', 'HUP'], /signal: Invalid option/],
    ] as const) {
      const r = await cli(...args);
      t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
      t.regex(r.stderr, msg);
    }
    t.deepEqual((await netns.status(lab)).faults, []);
    // A switch fault: every port of the lab switch dark, the client's too; lab:up leaves it alone.
    const node01 = lab.nodes[1]!.interfaces.find((i) => i.name === 'eth1')!.ipv4;
    t.is((await cli('inject', 'switch-down', 'switch')).exitCode, 0);
    const dark = await netns.status(lab);
    t.deepEqual(
      [...dark.nodes, dark.client].map((h) => h.interfaces.find((i) => i.name === 'eth1')!.up),
      [false, false, false, false, false],
    );
    t.false(await arping(lab, node01), 'no ARP across a dark switch');
    t.deepEqual((await labUp(lab, quiet, netns)).changes, [], 'lab:up leaves the dark switch alone');
    t.is((await cli('undo', 'switch-down', 'switch')).exitCode, 0);
    t.true(await eventually(() => arping(lab, node01), 3000), 'ARP again once it is back');
    t.deepEqual((await netns.status(lab)).faults, []);
  },
);

test.serial('down leaves nothing: namespaces, links, mounts, processes, state', async (t) => {
  seenPids = await labPids(lab.name);
  t.true(seenPids.length > 10);
  const r = await labDown(lab.name, quiet, netns);
  t.true(r.removed.length > 5);
  t.deepEqual(await hostSnapshot(lab.name), { namespaces: [], links: [], mounts: [], processes: [], state: false });
  t.deepEqual(seenPids.filter(running), []);
  const again = await labDown(lab.name, quiet, netns);
  t.deepEqual(again.removed, [], 'a second down has nothing to do');
});

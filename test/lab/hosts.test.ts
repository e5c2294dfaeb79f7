// Machines l2lab did not build (provider: hosts), tested on a netns lab reached only as existing
// hosts are: `lab status --as-hosts` writes it as a hosts file, and from then on everything goes
// through SSH with the pinned keys and the power commands that stand for a BMC's. The verdicts
// must be the netns lab's; bad hosts files are refused before anything runs; faults need consent;
// a NIC set down comes back by itself; lab:down leaves nothing of l2lab on the machines.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { buildBundles } from '../../conformance/bundles.ts';
import type { RunResults } from '../../conformance/model.ts';
import { runSuite } from '../../conformance/suite.ts';
import { hostsLabName } from '../../lab/as-hosts.ts';
import { run } from '../../lab/command.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { labPaths } from '../../lab/names.ts';
import { eventually, FAST_LEASE, L2LAB, l2lab, labFile, netns, quiet, repo } from '../helpers.ts';

const file = labFile('thost', 118, (d) => {
  d.client = { ...d.client, management: true }; // reached over SSH like every machine of a hosts file
});
const lab = loadLab(file);
const hostsName = hostsLabName(lab.name);
const hostsDir = `/var/tmp/l2l-${hostsName}`;
const tmp = mkdtempSync(join(tmpdir(), 'l2l-hosts-'));
const only = ['single-responder', 'failover', 'eligible-responder', 'lease-holder'];
const leaseFlags = [
  '--lease-duration',
  String(FAST_LEASE.durationMs),
  '--lease-renew-deadline',
  String(FAST_LEASE.renewDeadlineMs),
  '--lease-retry-period',
  String(FAST_LEASE.retryPeriodMs),
];

/** The lab as a hosts file, edited; its path. */
function hostsFile(name: string, edit: (doc: ReturnType<typeof parse>) => void = () => {}): string {
  const doc = parse(readFileSync(join(tmp, 'as-hosts.yaml'), 'utf8'));
  edit(doc);
  const f = join(tmp, `${name}.yaml`);
  writeFileSync(f, stringify(doc));
  return f;
}

/** `l2lab test` on a hosts file as a user runs it on a cluster: the subject already there, faults allowed, fast leases. */
const hostsTest = (f: string, out: string, args: string[], lease = true, cli = l2lab) =>
  cli([
    'test',
    '--lab',
    f,
    '--installed',
    '--yes',
    '--json',
    '--probe-interval',
    '20',
    ...(lease ? leaseFlags : []),
    '--out',
    join(tmp, out),
    ...args,
  ]);

/** `l2lab test --json`: the one run's results. */
const resultsOf = (stdout: string) => (JSON.parse(stdout) as { runs: { results: RunResults }[] }).runs[0]!.results;

const linkUp = async (node: string, nic: string) =>
  (await run(['ip', '-n', `l2l-${lab.name}-${node}`, '-br', 'link', 'show', nic])).stdout.includes(' UP ');

test.before(async () => {
  await buildBundles();
  for (const n of [hostsName, lab.name]) await labDown(n, quiet, netns).catch(() => {});
  await labUp(lab, quiet, netns);
  const r = await l2lab(['lab', 'status', '--lab', file, '--as-hosts']);
  if (r.exitCode !== 0) throw new Error(`lab status --as-hosts: ${r.stderr}`);
  writeFileSync(join(tmp, 'as-hosts.yaml'), r.stdout);
});
test.after.always(async () => {
  await l2lab(['lab', 'down', '--name', hostsName]);
  await labDown(lab.name, quiet, netns);
});

const jitter = FAST_LEASE.retryPeriodMs * 2.2; // a candidate's retry with client-go's jitter
/** The reference measured on the netns lab itself (the first test), for the tests that measure it another way. */
let direct: RunResults | undefined;

test.serial('the netns lab measured as existing hosts: the same verdicts, the same outages', async (t) => {
  // On the netns lab: the reference installed by l2lab, measured through the netns provider.
  ({ results: direct } = await runSuite({
    lab,
    subject: 'reference',
    trials: 1, // the bound below holds for any number of trials
    faults: ['power-off', 'link-down'],
    only,
    probeIntervalMs: 20,
    lease: FAST_LEASE,
    progress: () => {},
    outDir: join(tmp, 'netns-run'),
  }));
  // The same machines as a hosts file, the reference already running there: everything over SSH.
  const f = hostsFile('same');
  const up = await l2lab(['lab', 'up', '--lab', f]);
  t.is(up.exitCode, 0, up.stderr);
  t.regex(up.stderr, /client: Node v[\d.]+ and l2lab's runtime/, 'the prober runs from the runtime l2lab put there');
  const r = await hostsTest(f, 'hosts-run', [
    '--trials',
    '1',
    '--faults',
    'power-off,link-down',
    '--only',
    only.join(','),
  ]);
  t.is(r.exitCode, 0, r.stderr.split('\n').slice(-15).join('\n'));
  t.regex(r.stderr, /already running \(l2lab installs nothing\)/);
  sameMeasure(t, direct, resultsOf(r.stdout), {
    // An outage is random within what the lease protocol leaves open, whoever measures it: a
    // released lease is taken at a candidate's next retry (a phase within retry × 2.2); an expired
    // one also waits for the holder's last renewal and the candidate's sight of it (three such
    // phases). Measured the same way, two runs differ by no more than that and two probe intervals.
    'power-off': 3 * jitter + 2 * 20,
    'link-down': jitter + 2 * 20,
  });
});

/** The same verdict for every check, every trial passed, and outage medians no further apart than `bound` (ms) per fault. */
function sameMeasure(t: ExecutionContext, direct: RunResults, viaHosts: RunResults, bound: Record<string, number>) {
  t.is(viaHosts.lab.provider, 'hosts');
  const statuses = (x: RunResults) => Object.fromEntries(x.checks.map((c) => [c.id, c.status]));
  t.deepEqual(statuses(viaHosts), statuses(direct), 'the same verdict for every check');
  t.true(
    Object.values(statuses(direct)).every((s) => s === 'passed'),
    JSON.stringify(statuses(direct)),
  );
  const fo = (x: RunResults) => x.checks.find((c) => c.id === 'failover')!;
  t.is(fo(viaHosts).trials.length, Object.keys(bound).length);
  t.true(fo(viaHosts).trials.every((x) => x.passed));
  for (const [fault, tolerance] of Object.entries(bound))
    for (const family of ['arp', 'ndp']) {
      const k = `${fault}.${family}.median_ms`;
      const a = fo(direct).figures[k] as number;
      const b = fo(viaHosts).figures[k] as number;
      t.log(`${viaHosts.subject.name} ${k}: netns ${a} ms, as hosts ${b} ms (at most ${tolerance} ms apart)`);
      t.true(Math.abs(a - b) <= tolerance, `${k}: ${a} vs ${b} ms, more than ${tolerance} ms apart`);
    }
}

test.serial('the client as the machine l2lab runs on: its NIC captured there, the nodes over SSH', async (t) => {
  if (!direct) return t.fail('the netns measure of the first test is missing (it failed)');
  // Right after the first test: the reference still runs there (the keepalived test stops it).
  // l2lab runs where the client's NIC is: in the client's namespace, which reaches the nodes over
  // its management NIC as a user's laptop on the VLAN does. Power commands stand for a BMC's from
  // the host: not given here (power-off is then skipped), link-down measured.
  const f = hostsFile('local', (d) => {
    d.hosts.machines.client = { local: true, nic: d.hosts.machines.client.nic };
    d.hosts.power = undefined;
  });
  const here = (args: string[]) =>
    execa('ip', ['netns', 'exec', `l2l-${lab.name}-client`, 'node', L2LAB, ...args], {
      cwd: repo,
      reject: false,
      env: { CI: 'true' },
    });
  const up = await here(['lab', 'up', '--lab', f]);
  t.is(up.exitCode, 0, up.stderr);
  t.regex(up.stderr, /client: this machine, eth1/);
  t.notRegex(up.stderr, /l2lab's runtime/, 'nothing copied to the client: the prober runs from this checkout');
  const r = await hostsTest(
    f,
    'local-run',
    ['--trials', '1', '--faults', 'link-down', '--only', only.join(',')],
    true,
    here,
  );
  t.is(r.exitCode, 0, r.stderr.split('\n').slice(-15).join('\n'));
  const results = resultsOf(r.stdout);
  t.is(results.lab.provider, 'hosts');
  sameMeasure(t, direct, results, { 'link-down': jitter + 2 * 20 });
  // Its captures written here and kept with the run.
  const pcaps = readdirSync(join(tmp, 'local-run'), { recursive: true }).filter((x) => String(x).endsWith('.pcap'));
  t.true(pcaps.length > 0, 'the captures are in the run directory');
  // `lab ssh` has nothing to reach on this machine: told so, exit 2.
  const ssh = await here(['lab', 'ssh', '--lab', f, 'client', '--', 'true']);
  t.is(ssh.exitCode, 2, ssh.stderr);
});

test.serial('bad hosts files are refused before anything runs, each problem with its field and the fix', async (t) => {
  const keyOf = (h: string) =>
    readFileSync(`${labPaths(lab.name).hostKey(h)}.pub`, 'utf8')
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' ');
  const f = hostsFile('bad', (d) => {
    d.name = 'thostb';
    Object.assign(d.hosts.machines.cp01, { port: 2, hostKey: keyOf('cp01') }); // nothing listens there
    d.hosts.machines.node01.nic = 'eth9'; // no such NIC
    d.policy.interfaces = ['^eth1$', '^eth9$'];
    d.hosts.machines.node02.hostKey = keyOf('node03'); // another machine's key
    d.hosts.machines.node03.port = 2222; // known_hosts has no key for that port
  });
  const r = await l2lab(['lab', 'up', '--lab', f]);
  t.is(r.exitCode, 2, r.stderr);
  t.regex(r.stderr, /hosts\.machines\.cp01: host cp01 unreachable at root@198\.19\.118\.11:2: .*ECONNREFUSED/);
  t.regex(r.stderr, /hosts\.machines\.node01\.nic: eth9 does not exist on node01 \(it has .*eth1/);
  t.regex(r.stderr, /hosts\.machines\.node02: .*host key does not match/);
  t.regex(r.stderr, /hosts\.machines\.node03: no host key for 198\.19\.118\.14 port 2222 in .*ssh-keyscan -p 2222/);
  t.false(existsSync(labPaths('thostb').dir), 'no state on this host');
  t.false(existsSync('/var/tmp/l2l-thostb'), 'nothing on the machines');

  // A client whose NIC is not on the nodes' L2 domain (addresses in its subnets, on a NIC of its
  // own): found by ARP/NDP from it, and what lab:up had made is rolled back.
  const ns = `l2l-${lab.name}-client`;
  // A veth whose other end goes nowhere (this kernel has no dummy links).
  await run(['ip', '-n', ns, 'link', 'add', 'l2ldummy', 'type', 'veth', 'peer', 'name', 'l2ldummyp']);
  await run(['ip', '-n', ns, 'link', 'set', 'l2ldummyp', 'up']);
  t.teardown(() => run(['ip', '-n', ns, 'link', 'del', 'l2ldummy'], { check: false }));
  await run(['ip', '-n', ns, 'addr', 'add', '198.18.0.201/24', 'dev', 'l2ldummy']);
  await run(['ip', '-n', ns, 'addr', 'add', 'fd4c:3200:18::201/64', 'dev', 'l2ldummy', 'nodad']);
  await run(['ip', '-n', ns, 'link', 'set', 'l2ldummy', 'up']);
  const g = hostsFile('offlink', (d) => {
    d.name = 'thosto';
    d.hosts.machines.client.nic = 'l2ldummy';
  });
  const o = await l2lab(['lab', 'up', '--lab', g]);
  t.is(o.exitCode, 2, o.stderr);
  t.regex(o.stderr, /hosts\.machines\.client\.nic: the client's l2ldummy is not on the nodes' L2 domain .*no answer/);
  t.regex(o.stderr, /rolled back/);
  t.false(existsSync(labPaths('thosto').dir));
  t.false(existsSync('/var/tmp/l2l-thosto'), "l2lab's directory removed from the machines again");
});

test.serial(
  'without power commands power-off is skipped and refused; declared service commands stop the announcer',
  async (t) => {
    const svc = '/etc/l2lab/bin/l2l-service';
    const f = hostsFile('nopower', (d) => {
      d.hosts.power = undefined;
      // What a user writes for systemd (systemctl kill -s …), here for the lab's own service manager.
      d.hosts.service = {
        stop: `${svc} stop "$L2LAB_SERVICE" "$L2LAB_SIGNAL" && touch ${hostsDir}/declared-stop-$L2LAB_SERVICE`,
        start: `${svc} start "$L2LAB_SERVICE"`,
        signal: `${svc} signal "$L2LAB_SERVICE" "$L2LAB_SIGNAL"`,
      };
    });
    const r = await hostsTest(f, 'nopower-run', [
      '--only',
      'failover',
      '--faults',
      'power-off,graceful-stop',
      '--trials',
      '1',
    ]);
    t.is(r.exitCode, 0, r.stderr.split('\n').slice(-10).join('\n'));
    const c = resultsOf(r.stdout).checks.find((x) => x.id === 'failover')!;
    t.is(c.status, 'passed', c.reason);
    t.deepEqual(
      c.trials.map((x) => x.fault),
      ['graceful-stop'],
    );
    t.true(
      c.details.some((d) => /power-off: skipped \(the provider has no power primitive\)/.test(d)),
      c.details.join('\n'),
    );
    t.true(existsSync(`${hostsDir}/declared-stop-announcer`), 'the stop went through the declared command');
    const m = await l2lab(['lab', 'fault', 'inject', 'power-off', 'node01', '--lab', f, '--yes']);
    t.is(m.exitCode, 2);
    t.regex(m.stderr, /needs the provider primitive "power"/);
  },
);

test.serial(
  'faults on machines l2lab did not build: asked for, shown by --dry-run, undone by the machine itself',
  async (t) => {
    const f = hostsFile('safety', (d) => {
      d.hosts.carrierUndoAfter = '3s';
    });
    t.is((await l2lab(['lab', 'up', '--lab', f, '--quiet'])).exitCode, 0);
    // No terminal, no --yes: refused, every machine and command named, nothing done.
    const no = await l2lab(['lab', 'fault', 'inject', 'link-down', 'node01', 'eth1', '--lab', f]);
    t.is(no.exitCode, 2);
    t.regex(no.stderr, /were not built by l2lab/);
    t.regex(no.stderr, /node01 \(root@198\.19\.118\.12\):/);
    t.regex(no.stderr, /power off: p=\$\(ip netns pids/);
    t.regex(no.stderr, /pass --yes/);
    t.true(await linkUp('node01', 'eth1'));
    // --dry-run: the commands, none run.
    const dry = await l2lab(['lab', 'fault', 'inject', 'link-down', 'node01', 'eth1', '--lab', f, '--dry-run']);
    t.is(dry.exitCode, 0, dry.stderr);
    t.regex(dry.stdout, /ssh root@198\.19\.118\.12: ip link set dev eth1 down/);
    t.true(await linkUp('node01', 'eth1'));
    t.is((await l2lab(['lab', 'fault', 'list', '--lab', f])).stdout.trim(), 'no active faults');
    // With --yes the link goes down over SSH; nobody undoes it, and the node brings it back itself.
    const yes = await l2lab(['lab', 'fault', 'inject', 'link-down', 'node01', 'eth1', '--lab', f, '--yes']);
    t.is(yes.exitCode, 0, yes.stderr);
    t.false(await linkUp('node01', 'eth1'));
    t.true(await eventually(() => linkUp('node01', 'eth1'), 10_000), 'the undo armed on the node brought eth1 back');
    const undo = await l2lab(['lab', 'fault', 'undo', 'link-down', 'node01', 'eth1', '--lab', f]);
    t.is(undo.exitCode, 0, undo.stderr);
    t.is((await l2lab(['lab', 'fault', 'list', '--lab', f])).stdout.trim(), 'no active faults');
    // The NIC SSH itself goes over (node01's eth0 here): the session goes with the link (inject
    // waits 2 s for its answer); the undo cannot reach the node and waits until the node has
    // brought the NIC back by itself.
    const g = hostsFile('sshlost', (d) => {
      d.hosts.carrierUndoAfter = '6s';
    });
    const cut = await l2lab(['lab', 'fault', 'inject', 'link-down', 'node01', 'eth0', '--lab', g, '--yes']);
    t.is(cut.exitCode, 0, cut.stderr);
    t.false(await linkUp('node01', 'eth0'));
    const back = await l2lab(['lab', 'fault', 'undo', 'link-down', 'node01', 'eth0', '--lab', g]);
    t.is(back.exitCode, 0, back.stderr);
    t.true(await linkUp('node01', 'eth0'));
    t.is((await l2lab(['lab', 'ssh', '--lab', g, 'node01', '--', 'true'])).exitCode, 0, 'reachable over SSH again');
  },
);

test.serial('a node that does not answer within hosts.powerOnTimeout: named, with the command to run', async (t) => {
  // An `on` command that powers nothing: node03 stays off, and its power-off stays recorded.
  const f = hostsFile('slowboot', (d) => {
    d.hosts.power = { ...d.hosts.power, on: 'true' };
    d.hosts.powerOnTimeout = '3s';
  });
  // A lab never brought up keeps no record of its faults: refused before anything runs.
  const never = hostsFile('never', (d) => {
    d.name = 'thostn';
  });
  const refused = await l2lab(['lab', 'fault', 'inject', 'power-off', 'node03', '--lab', never, '--yes']);
  t.is(refused.exitCode, 2, refused.stderr);
  t.regex(refused.stderr, /lab thostn is not up on this host: `l2lab lab up --lab \S+never\.yaml` first/);
  t.is((await l2lab(['lab', 'up', '--lab', f, '--quiet'])).exitCode, 0);
  const off = await l2lab(['lab', 'fault', 'inject', 'power-off', 'node03', '--lab', f, '--yes']);
  t.is(off.exitCode, 0, off.stderr);
  const slow = await l2lab(['lab', 'fault', 'undo', 'power-off', 'node03', '--lab', f]);
  t.not(slow.exitCode, 0);
  t.regex(slow.stderr, /node03 did not answer SSH within 3 s of `true` \(hosts\.powerOnTimeout\): check it, then /);
  t.regex(slow.stderr, /`l2lab lab fault undo power-off node03 --lab \S+slowboot\.yaml`/);
  t.regex((await l2lab(['lab', 'fault', 'list', '--lab', f])).stdout, /power off node03/);
  // The command it names, once the node can come back (the real `on` command).
  const back = await l2lab(['lab', 'fault', 'undo', 'power-off', 'node03', '--lab', hostsFile('same')]);
  t.is(back.exitCode, 0, back.stderr);
  t.is((await l2lab(['lab', 'fault', 'list', '--lab', f])).stdout.trim(), 'no active faults');
  t.is((await l2lab(['lab', 'ssh', '--lab', f, 'node03', '--', 'true'])).exitCode, 0, 'node03 answers SSH again');
});

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  test.serial(`${signal} during a trial on machines l2lab did not build: the fault is undone, exit 130`, async (t) => {
    const f = hostsFile('same');
    const child = spawn(
      'node',
      [
        L2LAB,
        'test',
        '--lab',
        f,
        '--installed',
        '--yes',
        ...leaseFlags,
        '--only',
        'failover',
        '--faults',
        'link-down',
        '--trials',
        '3',
      ],
      { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CI: 'true' } },
    );
    let err = '';
    let sent = false;
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (sent || !/link-down #1: .*injecting/.test(err)) return;
      sent = true;
      setTimeout(() => child.kill(signal), 300); // the link is down by then
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    t.is(code, 130, err.slice(-600));
    t.true(await linkUp('node01', 'eth1'));
    t.true(await linkUp('node02', 'eth1'));
    t.is((await l2lab(['lab', 'fault', 'list', '--lab', f])).stdout.trim(), 'no active faults');
  });

test.serial("keepalived measured as existing hosts: the same verdicts, outages within VRRP's own spread", async (t) => {
  // keepalived installed by l2lab on the netns lab (the reference stops there) and measured there,
  // then measured through the hosts file, already running.
  const faults = ['power-off', 'link-down'] as const;
  const { results: direct } = await runSuite({
    lab,
    subject: 'keepalived:fast',
    trials: 1,
    faults: [...faults],
    only: ['single-responder', 'failover'],
    probeIntervalMs: 20,
    progress: () => {},
    outDir: join(tmp, 'netns-keepalived'),
  });
  const args = ['--subject', 'keepalived:fast', '--trials', '1', '--faults', faults.join(','), '--only'];
  const r = await hostsTest(hostsFile('same'), 'hosts-keepalived', [...args, 'single-responder,failover'], false);
  t.is(r.exitCode, 0, r.stderr.split('\n').slice(-15).join('\n'));
  // A backup takes over when no advert came for Master_Down_Interval (RFC 5798 §6.4.2), counted
  // from the last one: wherever the fault falls between two adverts (0.1 s apart here) — one
  // advert interval of spread, plus two probe intervals.
  const spread = 100 + 2 * 20;
  sameMeasure(t, direct, resultsOf(r.stdout), { 'power-off': spread, 'link-down': spread });
});

test.serial('lab down removes what l2lab put on the machines, and nothing else', async (t) => {
  const f = hostsFile('same');
  t.is((await l2lab(['lab', 'up', '--lab', f, '--quiet'])).exitCode, 0);
  t.true(existsSync(hostsDir));
  const d = await l2lab(['lab', 'down', '--lab', f]);
  t.is(d.exitCode, 0, d.stderr);
  t.false(existsSync(hostsDir));
  t.false(existsSync(labPaths(hostsName).dir));
  // The machines themselves are as they were: the netns lab is still up, its subject still answering.
  const s = await l2lab(['lab', 'status', '--lab', file, '--json']);
  t.is(JSON.parse(s.stdout).state, 'up');
});

// The field's real failover stacks as subjects (Debian's packages, real daemons on the netns lab):
// each installs idempotently, passes or fails the checks it should for the reason it should, and
// lab:down leaves nothing of it behind. Then two of them side by side in one comparison, through the CLI.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { buildBundles } from '../../conformance/bundles.ts';
import { loadSubject } from '../../conformance/subject.ts';
import { installPlan, runSuite } from '../../conformance/suite.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown } from '../../lab/lifecycle.ts';
import { labPaths } from '../../lab/names.ts';
import { inventoryFromStatus } from '../../playbooks/inventory.ts';
import { loadPlaybook } from '../../playbooks/playbook.ts';
import { runPlaybook } from '../../playbooks/runner.ts';
import { type Comparison, comparisonTable } from '../../reports/compare-subjects.ts';
import { eventually, hostSnapshot, L2LAB, l2lab, labFile, labPids, netns, quiet, repo, running } from '../helpers.ts';

// Peer comparisons run where the hosts do duplicate address detection, as real hosts do (a VIP
// added without nodad, IPaddr2's, is silent until it passes: the subject's dadMs).
const lab = loadLab(
  labFile('tpeer', 113, (d) => {
    d.switch.dad = true;
  }),
);
const PROBE_MS = 20;

/**
 * The peers' daemons in this machine's own PID namespace. A node's processes live in the node's
 * PID namespace, which the kernel empties when the node's init dies: what could outlive a lab is
 * a process that escaped into the host's.
 */
async function daemons(): Promise<string[]> {
  const host = readlinkSync('/proc/self/ns/pid');
  const ps = await execa('ps', ['-eo', 'pid=,stat=,comm=']);
  return ps.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, stat, comm]) => !stat?.startsWith('Z') && DAEMON.test(comm ?? ''))
    .filter(([pid]) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/pid`) === host;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(([pid, , comm]) => `${comm} ${pid}`);
}
const DAEMON = /^(keepalived|ucarp|vip-manager|patroni|postgres|corosync|pacemakerd|pacemaker-.*|zebra|vrrpd|etcd)$/;
let before: string[] = []; // another lab's (a developer's) daemons are not this test's

/** A second install of the subject changes nothing (its playbook is idempotent). */
async function secondInstallChangesNothing(
  t: ExecutionContext,
  subject: string,
  vips: Parameters<typeof installPlan>[1],
): Promise<void> {
  const plan = installPlan(loadSubject(subject, lab.lease), vips)!;
  const inv = inventoryFromStatus(await netns.status(lab, { probe: false }));
  const again = await runPlaybook(loadPlaybook(plan.file), inv, { extraVars: plan.vars, out: { write: () => {} } });
  t.true(again.ok);
  t.deepEqual(
    again.recap.filter((row) => row.changed).map((row) => `${row.host}: ${row.changed} changed`),
    [],
  );
}

test.before(async () => {
  await buildBundles();
  await labDown(lab.name, quiet, netns);
  before = await daemons();
});
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

/**
 * A crash (process-stop, KILL): where the VIP lives in the killed daemon's node (keepalived, FRR,
 * ucarp, Pacemaker), it stays there and that node's kernel keeps answering beside the new holder
 * ('split-brain'); vip-manager follows Patroni's key, which expires, and leaves ('moves').
 */
// vrrp: 'judged' — VRRP's own clock must agree with the suite's; 'none' — no VRRP on the wire;
// 'partly' — the capture may miss what it needs: 1 s adverts may all precede its 200 ms baseline
// (then the old master's last one is not in it).
// crash 'fenced': the killed stack's node is fenced (powered off and on through the lab's BMC) and
// the VIP moves with no second answerer.
// faults: a power cut, then a crash, unless it says otherwise.
type Peer = {
  subject: string;
  ipv6: boolean;
  vrrp: 'judged' | 'none' | 'partly';
  crash?: 'moves' | 'fenced';
  faults?: ('power-off' | 'process-stop')[];
};
const peers: Peer[] = [
  // as shipped: VRRPv2 for IPv4, 1 s adverts. keepalived:fast and ucarp:fast run side by side below
  // (power-off, VRRP's clock, the crash's split-brain; ucarp's install is checked after its recovery
  // test), keepalived:fast in hosts.test too (ARP and NDP): the same playbooks.
  { subject: 'keepalived', ipv6: true, vrrp: 'partly' },
  // unicast peers: the advertisements go to the peer's address, which the client's switch port may not see
  { subject: 'keepalived:operator', ipv6: true, vrrp: 'partly' },
  { subject: 'frr:fast', ipv6: true, vrrp: 'judged' },
  // Each as-shipped variant after its fast one (the install then changes only the timings): the
  // one fault its own budget is about; what a crash does is the fast one's (the same daemons).
  // 25 s of CI for frr, 75 s for pacemaker, 105 s for vip-manager (measured 2026-12-07).
  { subject: 'frr', ipv6: true, vrrp: 'partly', faults: ['power-off'] },
  // vip-manager's power-off differs from its crash by the 2 s leader race only, and each trial
  // waits out Patroni's ttl (20 s at least): the crash alone, the new behaviour.
  { subject: 'vip-manager:fast', ipv6: false, vrrp: 'none', crash: 'moves', faults: ['process-stop'] },
  // as shipped: ttl 30 s, polls every 1 s
  { subject: 'vip-manager', ipv6: false, vrrp: 'none', crash: 'moves', faults: ['process-stop'] },
  { subject: 'pacemaker:fast', ipv6: true, vrrp: 'none' },
  // as shipped: corosync's token 3 s
  { subject: 'pacemaker', ipv6: true, vrrp: 'none', faults: ['power-off'] },
  // last: the lab:down test below finds its daemons and its BMC running
  { subject: 'pacemaker:fenced', ipv6: true, vrrp: 'none', crash: 'fenced' },
];

/** What a peer's test claims, from the faults it runs. */
function title(p: Peer): string {
  const faults = p.faults ?? ['power-off', 'process-stop'];
  const off = faults.includes('power-off') ? 'fails over after a power cut' : '';
  const crash = !faults.includes('process-stop')
    ? ''
    : p.crash === 'moves'
      ? 'a crash moves the VIP: the old node answers at most one poll beside the new one'
      : p.crash === 'fenced'
        ? 'a crash is fenced: no second answerer'
        : 'a crash leaves two nodes answering';
  const claims = ['installs idempotently', off, crash].filter(Boolean);
  return `${p.subject}: ${claims.slice(0, -1).join(', ')}, and ${claims.at(-1)}`;
}

/** Two link-down trials back to back (the second follows a heal): the failover check, the run's progress lines, its VIPs. */
async function linkDownTwice(subject: string) {
  const lines: string[] = [];
  const { results: r } = await runSuite({
    lab,
    subject,
    trials: 2,
    faults: ['link-down'],
    only: ['failover'],
    probeIntervalMs: PROBE_MS,
    progress: (l) => lines.push(l),
    outDir: mkdtempSync(join(tmpdir(), 'l2l-report-')),
  });
  return { failover: r.checks.find((c) => c.id === 'failover')!, lines, vips: r.vips };
}

test.serial(
  'ucarp after a link comes back: the suite waits its declared interface-down sleep, and every link-down trial takes over in budget',
  async (t) => {
    // ucarp sleeps 10 s per turn while its interface is down (src/ucarp.h, src/carp.c): a trial
    // right after a heal used to time that sleep (9.7-10.2 s takeovers). The subject declares it
    // (recovery:), and the next trial starts only after it. Two trials: the second is the one that
    // follows a heal (a third only repeats it: 20 s of CI).
    const { failover, lines, vips } = await linkDownTwice('ucarp');
    t.is(failover.trials.length, 2);
    t.log(`link-down takeovers: ${failover.trials.map((x) => x.arp!.takeoverMs).join(', ')} ms`);
    for (const tr of failover.trials)
      t.true(
        tr.arp!.takeoverMs! <= tr.budgetMs,
        `link-down: takeover ${tr.arp!.takeoverMs} ms, budget ${tr.budgetMs} ms`,
      );
    t.is(lines.filter((l) => /ucarp recovers 10 s after link-down is healed/.test(l)).length, 2, lines.join('\n'));
    await secondInstallChangesNothing(t, 'ucarp', vips);
  },
);

test.serial(
  'ucarp:operator (--ignoreifstate, dead ratio 2): no sleep after a link loss, link-down trials back to back ' +
    'take over in budget, and the node that kept its VIP takes it back',
  async (t) => {
    const { failover, lines, vips } = await linkDownTwice('ucarp:operator');
    t.is(failover.status, 'passed', failover.details.join('\n'));
    t.is(failover.trials.length, 2);
    t.false(
      lines.some((l) => /recovers .* after link-down is healed/.test(l)),
      'the variant declares no recovery wait',
    );
    for (const tr of failover.trials) {
      t.true(
        tr.arp!.takeoverMs! <= tr.budgetMs,
        `link-down: takeover ${tr.arp!.takeoverMs} ms, budget ${tr.budgetMs} ms`,
      );
      // It stayed MASTER with its link down, and is the preferred node: the backup yields on its advertisement.
      t.is(tr.holderAfterHeal, tr.arp!.oldNode, `after the heal: ${tr.holderAfterHeal}`);
    }
    await secondInstallChangesNothing(t, 'ucarp:operator', vips);
  },
);

for (const p of peers)
  test.serial(title(p), async (t) => {
    const faults = p.faults ?? ['power-off', 'process-stop'];
    const { results: r } = await runSuite({
      lab,
      subject: p.subject,
      trials: 1,
      faults,
      only: ['single-responder', 'failover'],
      probeIntervalMs: PROBE_MS,
      progress: () => {},
      outDir: mkdtempSync(join(tmpdir(), 'l2l-report-')),
    });
    const status = Object.fromEntries(r.checks.map((c) => [c.id, c]));
    t.is(status['single-responder']!.status, 'passed', status['single-responder']!.reason);
    const failover = status.failover!;
    t.deepEqual(
      failover.trials.map((x) => x.fault),
      faults,
      'one trial per fault',
    );
    const off = failover.trials.find((x) => x.fault === 'power-off');
    const crash = failover.trials.find((x) => x.fault === 'process-stop');
    if (off) {
      t.true(off.passed, `power-off: ${off.problems.join('; ')}`);
      t.not(off.arp!.newNode, off.arp!.oldNode);
      t.is(off.ndp !== undefined, p.ipv6, 'NDP measured exactly where IPv6 is claimed');
      if (p.ipv6) t.true(off.ndp!.takeoverMs! < off.budgetMs + (off.dadMs ?? 0));
      t.log(`power-off: takeover ${off.arp!.takeoverMs} ms (budget ${off.budgetMs} ms)`);
    }
    if (!crash) t.is(failover.status, 'passed', failover.details.join('\n'));
    else if (p.crash === 'moves') {
      // Patroni killed: its key expires, a replica takes it, and each vip-manager follows the key
      // at its next poll (--interval): the old one may answer beside the new one for up to one
      // poll (upstream behaviour), never longer.
      t.truthy(crash.arp?.newNode, `process-stop: ${crash.problems.join('; ')}`);
      const a = crash.arp!;
      t.not(a.newNode, a.oldNode);
      t.true(a.takeoverMs! <= crash.budgetMs, `takeover ${a.takeoverMs} ms, budget ${crash.budgetMs} ms`);
      const poll = Number(loadSubject(p.subject, lab.lease).install!.vars.vipm_interval_ms);
      const both = a.splitBrainWindows * PROBE_MS;
      t.true(both <= poll + PROBE_MS, `two nodes answered for ${both} ms: more than one vip-manager poll (${poll} ms)`);
      t.log(
        `crash: takeover ${a.takeoverMs} ms (budget ${crash.budgetMs} ms), ARP gap ${a.outageMs} ms, both ${both} ms`,
      );
    } else if (p.crash === 'fenced') {
      // The crash: the peer fences the node whose stack died (its kernel still held the VIP)
      // through the lab's BMC, then takes the VIP: never two answerers.
      t.true(crash.passed, `process-stop: ${crash.problems.join('; ')}`);
      t.is(crash.arp!.splitBrainWindows, 0);
      t.is(failover.status, 'passed', failover.details.join('\n'));
      const bmcLog = readFileSync(join(labPaths(lab.name).dir, 'bmc', 'bmc.log'), 'utf8');
      t.regex(bmcLog, new RegExp(`${crash.arp!.oldNode}: ForceOff asked by`), bmcLog);
    } else {
      // The crash: the failover check fails for split-brain, named in its reason.
      t.is(failover.status, 'failed', failover.details.join('\n'));
      t.false(crash.passed);
      t.regex(failover.reason!, /process-stop #1: ARP: \d+ requests answered by two MACs/);
    }
    const v = off?.arp?.vrrp;
    if (off && (p.vrrp === 'judged' || (p.vrrp === 'partly' && v?.switchoverMs !== undefined))) {
      // VRRP's own clock on the wire agrees with the suite's outage within both resolutions.
      t.truthy(v, 'VRRP seen on the wire');
      t.is(v!.newNode, off.arp!.newNode, 'the advertisements name the node the suite saw answer');
      const gap = Math.abs(v!.switchoverMs! - off.arp!.outageMs!);
      t.true(gap <= v!.intervalMs! + PROBE_MS + 10, `VRRP ${v!.switchoverMs} ms vs ARP ${off.arp!.outageMs} ms`);
      t.regex(failover.details.join('\n'), /VRRP on the wire: last advertisement of node0\d → first of node0\d/);
    } else if (p.vrrp === 'none') t.is(v, undefined);

    await secondInstallChangesNothing(t, p.subject, r.vips);
  });

// Debian's Patroni 3.0.2 takes any timing; newer Patroni silently adjusts ttl < 20 and the rest
// (patroni/config.py _validate_and_adjust_timeouts): a figure measured with either would not be Patroni's.
test.serial(
  "vip-manager: timings Patroni does not allow are refused before anything is installed, naming Patroni's rule",
  async (t) => {
    const inv = inventoryFromStatus(await netns.status(lab, { probe: false }));
    const plan = installPlan(loadSubject('vip-manager:fast', lab.lease), [{ service: 'x', ipv4: '198.18.0.100' }])!;
    for (const bad of [{ patroni_ttl: 3 }, { patroni_loop_wait: 15 }]) {
      const r = await runPlaybook(loadPlaybook(plan.file), inv, {
        extraVars: { ...plan.vars, ...bad },
        check: true,
        out: { write: () => {} },
      });
      t.false(r.ok, JSON.stringify(bad));
      const failed = r.records.filter((x) => x.status === 'failed');
      t.true(
        failed.length > 0 && failed.every((x) => x.task === "Patroni's timings are legal ones"),
        JSON.stringify(failed),
      );
      t.regex(
        failed[0]!.msg!,
        /ttl >= 20, loop_wait >= 1, retry_timeout >= 3 and loop_wait \+ 2 \* retry_timeout <= ttl/,
      );
    }
  },
);

test('--subjects is refused before anything runs when it cannot work, naming the fix', async (t) => {
  const cli = (...a: string[]) => l2lab(['test', ...a]);
  const cases: [string[], RegExp][] = [
    [['--subjects', 'reference'], /--subjects needs two or more subjects, e\.g\. reference,keepalived/],
    [['--subjects', 'reference,nope'], /no subject "nope": built-in subjects are .*frr.*ucarp/],
    [['--subjects', 'reference,frr:slow'], /no variant "slow"; variants: fast/],
    [['--subjects', 'reference,ucarp', '--subject', 'frr'], /leave out --subject and --versions/],
    [['--subjects', 'reference,ucarp', '--out', '/tmp/x'], /writes one report folder per subject .* leave out --out/],
    // a bad number is bad input before any run, not a cell that failed (no comparison written)
    [['--subjects', 'reference,ucarp', '--trials', '0'], /--trials must be a whole number from 1 to 100, not "0"/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...args);
    t.is(r.exitCode, 2, args.join(' '));
    t.regex(r.stderr, message);
  }
});

// Through the CLI, as a user runs it: a subject that cannot install, then two peers side by side
// (VRRP spoken and not, IPv6 claimed and not); its own runs, so no other test's runs are needed.
test.serial(
  'side by side: one row per subject and fault, VRRP clocks where VRRP is spoken; a subject whose install fails ' +
    'is reported and the others still run',
  async (t) => {
    const r = await execa(
      'node',
      [
        L2LAB,
        'test',
        '--lab',
        lab.file,
        '--subjects',
        `${join(repo, 'test', 'fixtures', 'subjects', 'install-fails.yaml')},keepalived:fast,ucarp:fast`,
        '--only',
        'single-responder,failover',
        '--faults',
        'power-off,process-stop',
        '--trials',
        '1',
        '--probe-interval',
        String(PROBE_MS),
      ],
      { reject: false, env: { CI: 'true' } },
    );
    const dirs = [...r.stdout.matchAll(/^(?:report|comparison): (\S+?)\/(?:report\.html)? /gm)].map((m) => m[1]!);
    t.teardown(() => {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    t.is(r.exitCode, 3, 'a subject did not run: no verdict for it, a harness error');
    for (const d of dirs.slice(0, -1)) t.true(existsSync(join(d, 'report.html')), `every run writes its page: ${d}`);
    // Run data in the data directory (the test worker's own), none in the source tree.
    t.true(dirs.length >= 3);
    for (const d of dirs) t.true(d.startsWith(process.env.L2LAB_DATA!) && !d.startsWith(repo), d);
    t.regex(r.stdout, /not run: install-fails: installing install-fails failed/);
    const md = readFileSync(join(dirs.at(-1)!, 'comparison.md'), 'utf8');
    t.regex(md, /Not run:\n- \*\*install-fails\*\*: installing install-fails failed/);
    t.regex(md, /\| keepalived:fast \|/);
    const c = JSON.parse(readFileSync(join(dirs.at(-1)!, 'comparison.json'), 'utf8')) as Comparison;
    t.deepEqual(
      c.subjects.map((s) => s.subject),
      ['keepalived:fast', 'ucarp:fast'],
    );
    const rows = comparisonTable(c);
    const row = (subject: string, fault: string) => rows.find((x) => x[0] === subject && x[1] === fault)!;
    t.is(row('keepalived:fast', 'power-off')[2], '1/1');
    t.regex(row('keepalived:fast', 'power-off')[6]!, /^\d+ \/ \d+ \/ \d+$/, 'VRRP switchover column');
    t.is(row('ucarp:fast', 'power-off')[2], '1/1');
    t.is(row('ucarp:fast', 'power-off')[4], '-', 'ucarp claims no IPv6: no NDP figure, not "no takeover"');
    for (const s of ['keepalived:fast', 'ucarp:fast'])
      t.true(Number(row(s, 'process-stop')[7]) > 0, `${s}: requests answered twice`);
    t.true(c.subjects.every((s) => s.failedChecks.some((f) => f.id === 'failover')));
  },
);

test.serial('lab:down leaves nothing of the peers behind: no process, no macvlan, no state', async (t) => {
  // Its own peer to remove when run alone (the tests before leave the last one's daemons running).
  const peerDaemons = async () =>
    (await labPids(lab.name)).filter((pid) => {
      try {
        return DAEMON.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
      } catch {
        return false; // gone meanwhile
      }
    });
  if (!(await peerDaemons()).length)
    await runSuite({
      lab,
      subject: 'pacemaker:fast',
      trials: 1,
      faults: [],
      only: ['single-responder'],
      progress: () => {},
      outDir: mkdtempSync(join(tmpdir(), 'l2l-report-')),
    });
  t.true((await peerDaemons()).length > 0, "a peer's daemons in the lab to stop");
  const bmcPid = join(labPaths(lab.name).dir, 'bmc', 'pid');
  const bmc = existsSync(bmcPid) ? Number(readFileSync(bmcPid, 'utf8')) : undefined;
  await labDown(lab.name, quiet, netns);
  // pacemaker:fenced ran last: its BMC goes with the lab
  if (bmc) t.true(await eventually(async () => !running(bmc), 5000), `the BMC (pid ${bmc}) still runs after lab:down`);
  const left = await hostSnapshot(lab.name);
  t.deepEqual(left, { namespaces: [], links: [], mounts: [], processes: [], state: false });
  t.deepEqual(
    (await daemons()).filter((d) => !before.includes(d)),
    [],
  );
  t.deepEqual(readdirSync('/var/tmp/frr'), [], "FRR's crash-log folder (each node's own, bound over it) is empty");
});

// What the checks declare about themselves is what their code does (the faults they inject), and
// `l2lab test --dry-run` reads it to print a run's plan — every command, node by node — reaching
// no machine: a hosts file is read before its machines are.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { checks } from '../../conformance/checks/index.ts';
import { curveVerdict, rateModel, SETTINGS } from '../../conformance/checks/scale-curve.ts';
import { poolAddresses4 } from '../../conformance/pool.ts';
import { loadLab } from '../../lab/labfile.ts';
import { l2lab, repo, temporaryStateBase } from '../helpers.ts';

test("each check's injects names exactly the fault kinds its code injects", (t) => {
  for (const c of checks) {
    const code = readFileSync(join(repo, 'conformance', 'checks', `${c.id}.ts`), 'utf8');
    const found = new Set([
      ...[...code.matchAll(/kind: '([a-z-]+)'/g)].map((m) => m[1]!),
      ...[...code.matchAll(/ctx\.trial\('([a-z-]+)'/g)].map((m) => m[1]!),
      ...(/afterPowerOff\(/.test(code) ? ['power-off'] : []), // check.ts: a power-off trial of its own where needed
    ]);
    // failover injects the run's --faults (ctx.trial(fault, …)): declared by the run, not the check
    if (c.id === 'failover') {
      t.regex(code, /ctx\.trial\(fault,/);
      t.is(c.injects, undefined);
      continue;
    }
    t.deepEqual(new Set(c.injects ?? []), found, `${c.id}: injects ${JSON.stringify(c.injects)}`);
  }
});

const state = temporaryStateBase();
const dry = (...args: string[]) =>
  l2lab(['test', '--lab', join(repo, 'labs', 'hosts.example.yaml'), '--dry-run', ...args], { L2LAB_STATE_BASE: state });

test('--dry-run on a hosts file: the checks, their faults and every command node by node; nothing reached or written', async (t) => {
  const r = await dry('--subject', 'keepalived', '--installed', '--faults', 'power-off,link-down,graceful-stop');
  t.is(r.exitCode, 0, r.stderr);
  const out = r.stdout;
  t.regex(out, /nothing is reached, installed or changed/);
  t.regex(out, /subject keepalived: already running/);
  t.regex(out, /failover +runs, may inject power-off, link-down, graceful-stop\n/);
  t.regex(out, /lease-holder +skipped: not supported: subject keepalived does not claim lease-store/);
  t.regex(out, /shared-ip +skipped: not supported/);
  // node by node, the lab file's own commands and NICs
  t.regex(
    out,
    /node02:\n {4}power-off \(failover,[^)]*\):\n {6}inject:\n {8}power off node02: ipmitool .* chassis power off \(on this machine\)/,
  );
  t.regex(
    out,
    /ssh root@10\.0\.0\.12: setsid sh -c 'echo \$\$ > \/var\/tmp\/l2l-home\/carrier-node01-enp1s0\.undo; sleep 600; /,
  );
  t.regex(out, /ssh root@10\.0\.0\.12: ip link set dev enp1s0 down\n/);
  t.regex(out, /ssh root@10\.0\.0\.13: \/etc\/l2lab\/bin\/l2l-service stop keepalived TERM/);
  // the lab switch going dark is every machine's NIC, the client's too
  t.regex(
    out,
    /the lab switch, switch-down \(switch-outage\):\n {4}inject:\n(.*\n)*? {6}ssh root@10\.0\.0\.20: ip link set dev eth0 down\n/,
  );
  t.false(existsSync(join(state, 'l2l-home')), 'no lab state');
  // No consent asked for a dry run (no --yes, no terminal), and no report folder.
  t.notRegex(r.stderr, /pass --yes/);
});

test('--dry-run refuses what the run would refuse: a subject to install on machines l2lab did not build', async (t) => {
  const r = await dry('--subject', 'keepalived');
  t.is(r.exitCode, 2);
  t.regex(
    r.stderr,
    /were not built by l2lab, which installs nothing on them: keepalived must already run there; pass --installed/,
  );
});

test("scale-curve's rate model: client-go's lease calls against the limit, and what the spare tokens explain", (t) => {
  // 10 VIPs on 2 eligible nodes, 1 s / 0.5 s / 0.2 s: 5 held (5 writes/s each), 5 watched (a read every 0.32 s)
  const a = rateModel(10, 5, 2, 200, { qps: 10, burst: 20 });
  t.is(Math.round(a.demand * 100) / 100, 40.63);
  t.is(a.extraMs, null, 'a limit below the steady demand explains no bound: leases are lost without a fault');
  // Cilium's defaults (2 s retries), 200 VIPs, the docs' sizing 200 ÷ 5 s = 40 qps: demand 81/s, saturated too
  t.is(rateModel(200, 100, 2, 2000, { qps: 40, burst: 80 }).extraMs, null);
  // enough room: the survivor reads and writes 100 moved leases; 20 of 200 calls come from the burst
  const c = rateModel(200, 100, 2, 2000, { qps: 281.25, burst: 20 });
  t.is(Math.round(c.demand), 81);
  t.is(Math.round(c.extraMs!), Math.round((180 / (281.25 - c.demand)) * 1000));
  t.deepEqual(
    SETTINGS[1]!.limit!(200, 5000, 2000),
    { qps: 40, burst: 80 },
    "the docs' sizing: services ÷ renewDeadline",
  );
  t.deepEqual(SETTINGS[0]!.limit!(200, 5000, 2000), { qps: 10, burst: 20 });
  t.deepEqual(SETTINGS[2]!.limit!(200, 5000, 2000), { qps: 200, burst: 400 }, "l2lab's: twice services ÷ retryPeriod");
  t.true(rateModel(200, 100, 2, 2000, { qps: 200, burst: 400 }).extraMs !== null, "l2lab's sizing covers the demand");
});

test("scale-curve's verdict: a point whose limit is below the demand is reported, not judged; nothing judged is not a pass", (t) => {
  const judged = { vips: 10, moved: 5, maxMs: 900, allowedMs: 1500 };
  const saturated = { vips: 200, moved: 100, maxMs: 9000, demand: 81, qps: 10 }; // no allowedMs: not judged
  const unsettled = { vips: 50, note: '3 of 50 VIPs without a single responder before the fault' };
  t.deepEqual(curveVerdict([judged, saturated], [], []), { status: 'passed' });
  t.deepEqual(curveVerdict([saturated], [], []), { status: 'info' }, 'every point unjudged');
  t.deepEqual(curveVerdict([saturated, unsettled], [], []), { status: 'info' });
  t.deepEqual(curveVerdict([unsettled], [], ['n VIPs: unsettled']), {
    status: 'failed',
    reason: 'no point measured: n VIPs: unsettled',
  });
  t.deepEqual(curveVerdict([judged, saturated], ['10 VIPs: late'], []), { status: 'failed', reason: '10 VIPs: late' });
});

test("the pool's first IPv4 addresses, in order across its blocks (scale-curve's VIPs for subjects without IPAM)", (t) => {
  const lab = loadLab(join(repo, 'labs', 'scale.yaml'));
  const a = poolAddresses4(lab, 200);
  t.is(a.length, 200);
  t.deepEqual([a[0], a[179], a[180], a[199]], ['198.18.0.20', '198.18.0.199', '198.18.0.201', '198.18.0.220']);
  t.false(a.includes('198.18.0.200'), "the client's address is not in the pool");
});

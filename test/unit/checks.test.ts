// What the checks declare about themselves is what their code does (the faults they inject), and
// `l2lab test --dry-run` reads it to print a run's plan — every command, node by node — reaching
// no machine: a hosts file is read before its machines are.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { checks } from '../../conformance/checks/index.ts';
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

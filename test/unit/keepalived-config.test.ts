// keepalived's configuration as each variant writes it, read by the real keepalived
// (`keepalived --config-test`, Debian's 2.2.7): the variant without a name writes none of the
// settings keepalived has defaults for, so keepalived's own defaults apply; fast and operator
// write theirs, and keepalived accepts them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { loadSubject } from '../../conformance/subject.ts';
import { installPlan } from '../../conformance/suite.ts';
import { render } from '../../playbooks/expr.ts';
import { repo } from '../helpers.ts';

// keepalived checks that the interface exists and is no loopback: one of this machine's (read only;
// --config-test sends nothing).
const nic = readdirSync('/sys/class/net').find((n) => n !== 'lo' && !n.startsWith('l2l')) ?? 'eth0';
const lease = { durationMs: 15000, renewDeadlineMs: 5000, retryPeriodMs: 2000 };
const template = readFileSync(join(repo, 'playbooks', 'templates', 'keepalived.conf.j2'), 'utf8');
const host = (i: number) => ({
  l2lab_index: i,
  l2lab_switch_ipv4: `198.18.0.${11 + i}`,
  l2lab_switch_ipv6: `fd4c:3200:18::${11 + i}`,
});

/** The configuration the keepalived playbook writes on node01 for a variant (node01 and node02 eligible). */
function config(variant: string): string {
  const plan = installPlan(loadSubject(variant, lease), [
    { service: 'kube-system/cilium-gateway-central', ipv4: '198.18.0.100', ipv6: 'fd4c:3200:18::1:1' },
  ])!;
  return String(
    render(template, {
      ...plan.vars,
      ...host(1),
      inventory_hostname: 'node01',
      l2lab_switch_interface: nic,
      groups: { l2lab_eligible: ['node01', 'node02'] },
      hostvars: { node01: host(1), node02: host(2) },
    }),
  );
}

/** keepalived's own verdict on a configuration: its exit code and what it logged. */
function keepalivedTest(text: string): { status: number | null; log: string } {
  if (!existsSync(KEEPALIVED))
    throw new Error('keepalived is missing: bash scripts/install.sh --with peers installs it (Debian: keepalived)');
  const dir = mkdtempSync(join(tmpdir(), 'l2l-keepalived-'));
  try {
    writeFileSync(join(dir, 'keepalived.conf'), text);
    const r = spawnSync(KEEPALIVED, ['--config-test', '--use-file', join(dir, 'keepalived.conf'), '--log-console'], {
      encoding: 'utf8',
    });
    return { status: r.status, log: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const KEEPALIVED = '/usr/sbin/keepalived';
const SHIPPED = /vrrp_version|vrrp_garp|vrrp_gna|advert_int|unicast/;

test('without a variant: none of the settings keepalived has defaults for, and keepalived accepts it', (t) => {
  const c = config('keepalived');
  t.notRegex(c, SHIPPED, c);
  t.regex(c, /priority 249\n/);
  t.true(c.includes(`198.18.0.100/32 dev ${nic}`));
  t.true(c.includes(`fd4c:3200:18::1:1/128 dev ${nic}`));
  const r = keepalivedTest(c);
  t.is(r.status, 0, r.log);
});

test('fast: VRRPv3 (a sub-second interval needs it) at 0.1 s, GARP as shipped; keepalived accepts it', (t) => {
  const c = config('keepalived:fast');
  t.regex(c, /vrrp_version 3\n/);
  t.is(c.match(/advert_int 0\.1\n/g)?.length, 2);
  t.notRegex(c, /vrrp_garp|vrrp_gna|unicast/);
  const r = keepalivedTest(c);
  t.is(r.status, 0, r.log);
});

test('operator: VRRPv3, unicast to the other eligible nodes, GARP refreshed; keepalived accepts it', (t) => {
  const c = config('keepalived:operator');
  t.regex(c, /vrrp_version 3\n/);
  t.regex(c, /vrrp_garp_master_refresh 60\n\s*vrrp_garp_master_refresh_repeat 2\n/);
  t.regex(c, /unicast_src_ip 198\.18\.0\.12\n\s*unicast_peer \{\n\s*198\.18\.0\.13\n\s*\}/);
  t.regex(c, /unicast_src_ip fd4c:3200:18::12\n\s*unicast_peer \{\n\s*fd4c:3200:18::13\n\s*\}/);
  const r = keepalivedTest(c);
  t.is(r.status, 0, r.log);
});

test('the check is real: keepalived refuses a configuration it cannot read', (t) => {
  const r = keepalivedTest(config('keepalived').replace('virtual_router_id 51', 'virtual_router_id 300'));
  t.not(r.status, 0, r.log);
});

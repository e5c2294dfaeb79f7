// The Vagrant side of the lab, as far as it runs here: the VM spec rendered from the lab file,
// and `vagrant validate` of the repository's Vagrantfile with vagrant-libvirt (no VM is booted).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { loadLab } from '../../lab/labfile.ts';
import { VAGRANT_HOME, vagrantEnv } from '../../lab/providers/vagrant/box.ts';
import { dadLines, domainNicLines } from '../../lab/providers/vagrant/index.ts';
import { vagrantSpec, writeVagrantSpec } from '../../lab/providers/vagrant/spec.ts';
import { labFile, repo } from '../helpers.ts';

const lab = loadLab(
  labFile('tvag', 110, (d) => {
    d.provider = 'vagrant';
    d.nodes[0].vm = { cpus: 4, memory: 4096 };
    d.vagrant = { driver: 'qemu' };
  }),
);

test("the VM spec carries the lab's machines, addresses, MACs and VM sizes", (t) => {
  const spec = writeVagrantSpec(lab, join(mkdtempSync(join(tmpdir(), 'l2l-vag-')), 'vagrant.json'));
  t.is(spec.network, 'l2l-tvag-switch');
  t.is(spec.driver, 'qemu');
  t.deepEqual(
    spec.machines.map((m) => m.name),
    ['cp01', 'node01', 'node02', 'node03', 'client'],
  );
  t.like(spec.machines[0], {
    role: 'control-plane',
    cpus: 4,
    memory: 4096,
    ipv4: '198.18.0.11',
    ipv6: 'fd4c:3200:18::11',
    box: 'l2lab/debian12',
  });
  t.like(spec.machines[1], {
    cpus: 2,
    memory: 2048,
    mac: lab.nodes[1]!.interfaces.find((i) => i.name === 'eth1')!.mac,
  });
  t.like(spec.machines[4], { role: 'client', cpus: 1, memory: 512, ipv4: '198.18.0.200', mgmtIpv4: '198.19.110.210' });
  t.like(spec.machines[0], {
    mgmtIpv4: '198.19.110.11',
    mgmtMac: lab.nodes[0]!.interfaces.find((i) => i.name === 'eth0')!.mac,
  });
  t.is(spec.bootTimeout, 900, 'software emulation boots slowly');
});

test('vagrant validate accepts the Vagrantfile with the rendered spec (libvirt)', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'l2l-vag-')), 'vagrant.json');
  writeVagrantSpec(lab, file);
  const r = await execa('vagrant', ['validate'], { cwd: repo, reject: false, env: vagrantEnv(file) });
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /Vagrantfile validated successfully/);
});

test('a missing spec file is named, with the command that renders one', async (t) => {
  const r = await execa('vagrant', ['validate'], {
    cwd: repo,
    reject: false,
    env: vagrantEnv('/nonexistent/vagrant.json'),
  });
  t.not(r.exitCode, 0);
  t.regex(r.stderr + r.stdout, /no VM spec at \/nonexistent\/vagrant.json; render one with npm run -s lab:spec/);
});

test('the default VM spec (labs/vm.vagrant.json) is what labs/vm.yaml renders', (t) => {
  t.deepEqual(
    JSON.parse(readFileSync(join(repo, 'labs', 'vm.vagrant.json'), 'utf8')),
    vagrantSpec(loadLab(join(repo, 'labs', 'vm.yaml'))),
    'out of date: npm run -s lab:spec -- --lab labs/vm.yaml --out labs/vm.vagrant.json',
  );
});

test('a Vagrant user at the root of a fresh clone: vagrant validate and vagrant status work without l2lab', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l2l-clone-'));
  try {
    await execa('git', ['clone', '-q', repo, dir]);
    // The user's own environment: no L2LAB_VAGRANT_SPEC, Vagrant's defaults apart from its home.
    const env = { ...process.env, VAGRANT_HOME, VAGRANT_CHECKPOINT_DISABLE: '1', L2LAB_VAGRANT_SPEC: undefined };
    const v = await execa('vagrant', ['validate'], { cwd: dir, reject: false, env, extendEnv: false });
    t.is(v.exitCode, 0, v.stderr);
    t.regex(v.stdout, /Vagrantfile validated successfully/);
    const s = await execa('vagrant', ['status'], { cwd: dir, reject: false, env, extendEnv: false });
    t.is(s.exitCode, 0, s.stderr);
    for (const m of ['cp01', 'node01', 'node02', 'client'])
      t.regex(s.stdout, new RegExp(`${m}\\s+not created \\(libvirt\\)`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('provider virtualbox is refused with what works', (t) => {
  const e = t.throws(() =>
    loadLab(
      labFile('tvag', 110, (d) => {
        d.provider = 'vagrant';
        d.vagrant = { provider: 'virtualbox' };
      }),
    ),
  );
  t.regex(
    e!.message,
    /vagrant\.provider: virtualbox is not supported: l2lab's box boots only under libvirt.*Use provider: libvirt/,
  );
});

test('a netns lab has no VM spec: the client has no management NIC there', (t) => {
  const netnsLab = loadLab(labFile('tvag', 110));
  t.throws(() => vagrantSpec(netnsLab), {
    message: /client has no management interface; the lab file must name a VM provider/,
  });
});

test('L2 domains on VMs: a switch of its own is a libvirt network and a NIC; a VLAN is a tagged eth1 in the guest', async (t) => {
  const dlab = loadLab(
    labFile(
      'tvag',
      110,
      (d) => {
        d.provider = 'vagrant';
        d.domains[0] = { ...d.domains[0], switch: undefined, vlan: 100 };
      },
      'labs/domains.yaml',
    ),
  );
  const file = join(mkdtempSync(join(tmpdir(), 'l2l-vag-')), 'vagrant.json');
  const spec = writeVagrantSpec(dlab, file);
  t.deepEqual(spec.domainNetworks, [{ domain: 'blue', name: 'l2l-tvag-d-blue', bridge: 'l2l-tvag-d1' }]);
  const node02 = spec.machines.find((m) => m.name === 'node02')!;
  t.deepEqual(
    node02.nics.map((n) => [n.network, n.ipv4]),
    [['l2l-tvag-d-blue', '198.18.200.13']],
    'red is a VLAN: no NIC of its own',
  );
  t.deepEqual(domainNicLines(dlab, dlab.nodes.find((n) => n.name === 'node01')!), [
    'ip link show eth1.100 >/dev/null 2>&1 || ip link add link eth1 name eth1.100 type vlan id 100',
    'ip addr replace 198.18.100.12/24 dev eth1.100',
    'ip -6 addr replace fd4c:3200:18:100::12/64 dev eth1.100 nodad',
    'ip link set eth1.100 up',
  ]);
  t.deepEqual(domainNicLines(dlab, dlab.nodes.find((n) => n.name === 'node03')!), [
    'ip -6 addr replace fd4c:3200:18:200::14/64 dev eth2 nodad',
  ]);
  // switch.dad: accept_dad on the NICs there are at boot (the VLAN takes the default), no nodad, then the wait.
  const node01 = dlab.nodes.find((n) => n.name === 'node01')!;
  t.deepEqual(dadLines(dlab, node01, 'before'), [
    'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad',
    'echo 0 > /proc/sys/net/ipv6/conf/eth1/accept_dad',
  ]);
  t.deepEqual(dadLines(dlab, node01, 'after'), []);
  const withDad = { ...dlab, switch: { ...dlab.switch, dad: true } };
  t.deepEqual(dadLines(withDad, node01, 'before'), [
    'echo 1 > /proc/sys/net/ipv6/conf/default/accept_dad',
    'echo 1 > /proc/sys/net/ipv6/conf/eth1/accept_dad',
  ]);
  t.regex(dadLines(withDad, node01, 'after')[0]!, /for d in eth1 eth1\.100; do .*tentative/);
  t.false(domainNicLines(withDad, node01).some((l) => l.includes('nodad')));
  const r = await execa('vagrant', ['validate'], { cwd: repo, reject: false, env: vagrantEnv(file) });
  t.is(r.exitCode, 0, r.stderr);
});

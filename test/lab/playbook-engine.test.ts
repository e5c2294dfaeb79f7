// The engine over the whole default lab: idempotent re-runs, --limit/--tags, handlers once,
// unreachable hosts apart from failures, any_errors_fatal, register/when/loop, CLI + JSON.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { injectFault, undoFault } from '../../lab/faults/index.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { type Inventory, inventoryFromStatus, selectHosts } from '../../playbooks/inventory.ts';
import { findPlaybook, loadPlaybook } from '../../playbooks/playbook.ts';
import { type RunReport, runPlaybook } from '../../playbooks/runner.ts';
import { l2lab, labFile, netns, quiet } from '../helpers.ts';
import { play } from '../pb-helpers.ts';

const file = labFile('teng', 106);
const lab = loadLab(file);
let inv: Inventory;
const silent = { write: () => {} };

test.before(async () => {
  await labDown(lab.name, quiet, netns);
  await labUp(lab, quiet, netns);
  inv = inventoryFromStatus(await netns.status(lab));
});
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

test.serial('inventory groups come from roles and labels; host patterns', (t) => {
  t.deepEqual(inv.groups.all, ['cp01', 'node01', 'node02', 'node03']);
  t.deepEqual(inv.groups['control-plane'], ['cp01']);
  t.deepEqual(inv.groups.workers, ['node01', 'node02', 'node03']);
  t.deepEqual(inv.groups.datacenter_dc2, ['node02']);
  t.deepEqual(selectHosts(inv, 'workers:!datacenter_dc3'), ['node01', 'node02']);
  t.deepEqual(selectHosts(inv, 'all:&datacenter_dc1'), ['node01']);
  t.deepEqual(selectHosts(inv, 'node0*'), ['node01', 'node02', 'node03']);
  t.throws(() => selectHosts(inv, 'dc9'), {
    message: /host pattern "dc9" matches no host or group \(groups: all, control-plane/,
  });
  t.is(inv.hosts.node01!.vars.l2lab_switch_ipv4, '198.18.0.12');
  t.truthy(inv.sharedHost, 'netns: packages are shared with the host');
});

test.serial('the base playbook: changes on the first run, changed=0 on every host on the re-run', async (t) => {
  const pb = loadPlaybook(findPlaybook('base'));
  const first = await runPlaybook(pb, inv, { out: silent });
  t.true(first.ok);
  t.true(
    first.recap.every((r) => r.changed > 0 && r.failed === 0),
    JSON.stringify(first.recap),
  );
  const again = await runPlaybook(pb, inv, { out: silent });
  t.true(again.ok);
  t.deepEqual(
    again.recap.map((r) => [r.host, r.changed, r.failed]),
    inv.groups.all!.map((h) => [h, 0, 0]),
  );
  t.is((await netns.exec(lab, 'node02', ['sysctl', '-n', 'net.ipv4.conf.all.arp_ignore'])).stdout.trim(), '1');
});

test.serial('--limit and --tags select hosts and tasks', async (t) => {
  const tasks = [
    { name: 'a', copy: { dest: '/etc/l2lab/tag-a', content: 'a' }, tags: ['alpha'] },
    { name: 'b', copy: { dest: '/etc/l2lab/tag-b', content: 'b' }, tags: ['beta'] },
    { name: 'c', copy: { dest: '/etc/l2lab/tag-c', content: 'c' }, tags: ['always'] },
  ];
  const r = await play(inv, tasks, { limit: 'datacenter_dc1,cp01', tags: ['beta'] });
  t.deepEqual(
    r.report.recap.map((x) => x.host),
    ['cp01', 'node01'],
  );
  t.deepEqual(
    [...new Set(r.report.records.filter((x) => x.task !== 'Gathering Facts').map((x) => x.task))],
    ['b', 'c'],
  );
  const skip = await play(inv, tasks, { limit: 'node02', skipTags: ['alpha'] });
  t.deepEqual(
    [...new Set(skip.report.records.filter((x) => x.task !== 'Gathering Facts').map((x) => x.task))],
    ['b', 'c'],
  );
});

test.serial('handlers run once per host at the end of the play, only when notified by a change', async (t) => {
  const tasks = [
    { name: 'one', copy: { dest: '/var/lib/l2lab/h1', content: '1' }, notify: 'count' },
    { name: 'two', copy: { dest: '/var/lib/l2lab/h2', content: '2' }, notify: ['count'] },
  ];
  const handlers = [{ name: 'count', shell: 'echo x >> /var/lib/l2lab/handler-runs' }];
  const r = await play(inv, tasks, { hosts: 'workers', handlers });
  t.true(r.ok, r.text);
  t.regex(r.text, /RUNNING HANDLER \[count\]/);
  for (const h of ['node01', 'node02', 'node03'])
    t.is(
      (await netns.exec(lab, h, ['wc', '-l', '/var/lib/l2lab/handler-runs'])).stdout.trim().split(' ')[0],
      '1',
      `${h}: once`,
    );
  const again = await play(inv, tasks, { hosts: 'workers', handlers });
  t.notRegex(again.text, /RUNNING HANDLER/);
});

test.serial('register, when and loop results', async (t) => {
  const r = await play(inv, [
    { name: 'probe', command: 'cat /etc/hostname', register: 'hn', changed_when: false },
    {
      name: 'only dc2',
      copy: { dest: '/var/lib/l2lab/dc2', content: '{{ hn.stdout }}' },
      when: "l2lab_labels.datacenter | default('') == 'dc2'",
    },
    { name: 'loop', shell: 'echo {{ item }}', loop: '{{ [1, 2, 3] }}', register: 'many', changed_when: false },
    { name: 'sum', command: 'test {{ many.results | map("attribute", "stdout") | join("") }} = 123' },
    { name: 'fails but ignored', command: 'false', ignore_errors: true },
  ]);
  t.true(r.ok, r.text);
  t.deepEqual(r.status('only dc2', 'node02'), ['changed']);
  t.deepEqual(r.status('only dc2', 'node01'), ['skipped']);
  t.is((await netns.exec(lab, 'node02', ['cat', '/var/lib/l2lab/dc2'])).stdout, 'node02');
  t.true(r.report.recap.every((x) => x.ignored === 1 && x.failed === 0));
});

test.serial('with a loop, when is judged per item and may name it', async (t) => {
  const r = await play(
    inv,
    [
      {
        name: 'per item',
        shell: 'echo {{ item }}',
        loop: "{{ groups['workers'] }}",
        when: "hostvars[item].l2lab_labels.datacenter | default('') != 'dc2'",
        register: 'out',
        changed_when: false,
      },
      { name: 'none', command: 'true', loop: [1, 2], when: 'item > 5', register: 'nothing' },
      // A when that fails for one item fails that item only, as a module would (here ignored).
      {
        name: 'bad when',
        command: 'true',
        loop: [1, 2, 3],
        when: 'item != 2 or no_such_var',
        ignore_errors: true,
        register: 'bw',
        changed_when: false,
      },
      {
        name: 'read',
        command:
          'test "{{ out.results[0].stdout }} {{ out.results[1].skipped }} {{ nothing.skipped }} {{ bw.failed }} {{ bw.results[1].failed ' +
          '}} {{ bw.results[2].rc }}" = "node01 true true true true 0"',
      },
    ],
    { hosts: 'node01' },
  );
  t.true(r.ok, r.text);
  t.deepEqual(r.status('per item', 'node01'), ['ok', 'skipped', 'ok']);
  t.deepEqual(r.status('none', 'node01'), ['skipped', 'skipped']);
  t.deepEqual(r.status('bad when', 'node01'), ['ok', 'ignored', 'ok']);
  t.regex(r.text, /no_such_var.*bad when.*\(when\)/);
  t.deepEqual(r.status('read', 'node01'), ['changed']);
});

test.serial("extra vars win everywhere (Ansible's -e): play and task vars that default to them see them", async (t) => {
  const r = await play(
    inv,
    [
      {
        name: 'write',
        copy: { dest: '/var/lib/l2lab/mirror', content: '{{ url }} {{ key }} {{ pinned }}' },
        vars: { key: "{{ mirror_key | default('https://upstream/key') }}" },
      },
    ],
    {
      hosts: 'node01',
      // The cluster playbook's shape: a play var whose default is the upstream URL.
      vars: { url: "{{ mirror_url | default('https://upstream/') }}", pinned: 'from-play' },
      extraVars: { mirror_url: 'http://mirror/', mirror_key: 'http://mirror/key', pinned: 'from-cli' },
    },
  );
  t.true(r.ok, r.text);
  t.is(
    (await netns.exec(lab, 'node01', ['cat', '/var/lib/l2lab/mirror'])).stdout,
    'http://mirror/ http://mirror/key from-cli',
  );
});

test.serial('a failed host stops for that host only; any_errors_fatal stops all', async (t) => {
  const tasks = [
    { name: 'fail on node01', command: 'test {{ inventory_hostname }} != node01' },
    { name: 'after', command: 'true' },
  ];
  const r = await play(inv, tasks, { hosts: 'workers' });
  t.false(r.ok);
  t.deepEqual(r.status('after', 'node01'), []);
  t.deepEqual(r.status('after', 'node02'), ['changed']);
  const dir = join(tmpdir(), `l2l-fatal-${process.pid}.yaml`);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    dir,
    `- hosts: workers\n  any_errors_fatal: true\n  tasks:\n    - name: fail on node01\n      command: test {{ inventory_hostname }} != ` +
      `node01\n    - name: after\n      command: "true"\n`,
  );
  const fatal: RunReport = await runPlaybook(loadPlaybook(dir), inv, { out: silent });
  t.false(fatal.ok);
  t.false(
    fatal.records.some((x) => x.task === 'after'),
    'no host ran the next task',
  );
});

test.serial(
  'unreachable hosts are reported apart from failures, naming host and address; CLI exit 3 (harness) and JSON',
  async (t) => {
    await injectFault(netns, lab, { kind: 'power-off', node: 'node03' });
    try {
      const r = await l2lab(['playbook', 'base', '--lab', file, '--json']);
      t.is(r.exitCode, 3, r.stderr);
      // --json: the play's lines on stderr, the report alone on stdout.
      t.regex(r.stderr, /fatal: \[node03\] UNREACHABLE! host node03 unreachable at root@198\.19\.106\.14:22/);
      t.regex(r.stderr, /PLAY RECAP \*+\ncp01 +: ok=\d+ +changed=0 +unreachable=0 +failed=0/);
      t.regex(r.stderr, /node03 +: ok=0 +changed=0 +unreachable=1 +failed=0/);
      const report = JSON.parse(r.stdout) as RunReport;
      t.is(report.schema, 'l2lab.playbook/v1');
      t.true(report.records.every((x) => typeof x.durationMs === 'number' && x.host && x.task));
      t.is(report.recap.find((x) => x.host === 'node03')!.unreachable, 1);
    } finally {
      await undoFault(netns, lab, { kind: 'power-off', node: 'node03' });
    }
  },
);

test.serial("an inventory file for existing hosts (the ssh provider's shape) runs the same playbooks", async (t) => {
  const { writeFileSync } = await import('node:fs');
  const { stringify } = await import('yaml');
  const inventory = {
    hosts: Object.fromEntries(
      ['node01', 'node02'].map((h) => {
        const ssh = inv.hosts[h]!.ssh;
        return [
          h,
          {
            address: ssh.host,
            user: ssh.user,
            identityFile: ssh.identityFile,
            hostKey: ssh.hostKey,
            vars: { role: 'edge' },
          },
        ];
      }),
    ),
    groups: { edge: ['node01', 'node02'] },
  };
  const f = join(tmpdir(), `l2l-inv-${process.pid}.yaml`);
  writeFileSync(f, stringify(inventory));
  const pb = join(tmpdir(), `l2l-inv-pb-${process.pid}.yaml`);
  writeFileSync(
    pb,
    '- hosts: edge\n  tasks:\n    - name: hello\n      copy: { dest: /var/lib/l2lab/inv, content: "{{ role }} {{ inventory_hostname }}" ' +
      '}\n',
  );
  const r = await l2lab(['playbook', pb, '--inventory', f]);
  t.is(r.exitCode, 0, r.stdout + r.stderr);
  t.is((await netns.exec(lab, 'node02', ['cat', '/var/lib/l2lab/inv'])).stdout, 'edge node02');
  writeFileSync(
    f,
    stringify({
      ...inventory,
      hosts: { ...inventory.hosts, node01: { ...inventory.hosts.node01, hostKey: 'ssh-ed25519 !!' } },
    }),
  );
  const bad = await l2lab(['playbook', pb, '--inventory', f]);
  t.is(bad.exitCode, 2);
  t.regex(bad.stderr, /hosts\.node01\.hostKey: a public host key/);
});

test.serial('CLI: bad playbook and bad flags exit 2 with the reason', async (t) => {
  const cli = (...a: string[]) => l2lab(['playbook', ...a]);
  const none = await cli('nosuch', '--lab', file);
  t.is(none.exitCode, 2);
  t.regex(none.stderr, /no playbook "nosuch"/);
  const flag = await cli('base', '--lab', file, '--forks', 'many');
  t.is(flag.exitCode, 2);
  t.regex(flag.stderr, /--forks must be a whole number/);
  const check = await cli('base', '--lab', file, '--check', '--limit', 'node01');
  t.is(check.exitCode, 0, check.stderr);
  t.regex(check.stdout, /node01 +: ok=\d+ +changed=0/);
});

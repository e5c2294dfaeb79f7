// Every module against real nodes over SSH: changes on the first run, ok on the second,
// check mode changes nothing but says what it would do, --diff shows the change, failures
// name the task and the argument.

import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { type Inventory, inventoryFromStatus } from '../../playbooks/inventory.ts';
import { netns, quiet, testLab } from '../helpers.ts';
import { play } from '../pb-helpers.ts';

const lab = testLab('tmod', 105);
let inv: Inventory;
const sh = async (host: string, cmd: string) => (await netns.exec(lab, host, ['sh', '-c', cmd])).stdout.trim();
const one = { hosts: 'node01' };

test.before(async () => {
  await labDown(lab.name, quiet, netns);
  await labUp(lab, quiet, netns);
  inv = inventoryFromStatus(await netns.status(lab));
});
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

/** first run changes, second does not, and the check-mode run before them changed nothing. */
async function idempotent(
  t: any,
  tasks: object[],
  verify: () => Promise<unknown>,
  o: Parameters<typeof play>[2] = one,
) {
  const check = await play(inv, tasks, { ...o, check: true });
  t.true(check.ok, check.text);
  const wouldRun = check.report.records.some((r) => r.status === 'skipped' && r.msg?.includes('check mode'));
  t.true(check.changed > 0 || wouldRun, `check mode reports what would change:\n${check.text}`);
  const first = await play(inv, tasks, o);
  t.true(first.ok, first.text);
  t.true(first.changed > 0, first.text);
  await verify();
  const second = await play(inv, tasks, o);
  t.true(second.ok, second.text);
  t.is(second.changed, 0, second.text);
}

test.serial('command and shell: creates/removes, rc, no shell for command, check mode skips', async (t) => {
  await idempotent(
    t,
    [{ name: 'mk', command: { cmd: 'mkdir /var/lib/l2lab/cmd', creates: '/var/lib/l2lab/cmd' } }],
    async () => t.is(await sh('node01', 'test -d /var/lib/l2lab/cmd && echo yes'), 'yes'),
  );
  const r = await play(
    inv,
    [
      { name: 'words', command: "printf '%s|' 'a b' c $HOME", register: 'w' },
      { name: 'pipe', shell: 'echo $((1+2)) | tr 3 4', register: 'p', changed_when: false },
      { name: 'use', command: 'test "{{ w.stdout }}{{ p.stdout }}" = "a b|c|$HOME|4"' },
    ],
    one,
  );
  t.true(r.ok, r.text);
  t.deepEqual(r.status('pipe', 'node01'), ['ok']);
  const bad = await play(inv, [{ name: 'fails', command: 'ls /nonexistent-dir' }], one);
  t.false(bad.ok);
  t.regex(
    bad.text,
    /fatal: \[node01\]: FAILED! non-zero return code 2 \(rc=2\)\n {2}stderr: ls: cannot access '\/nonexistent-dir'/,
  );
  const chk = await play(inv, [{ name: 'never', shell: 'touch /var/lib/l2lab/never' }], { ...one, check: true });
  t.regex(chk.text, /skipping: \[node01\].*would run \(check mode\)/);
  t.is(await sh('node01', 'test -e /var/lib/l2lab/never && echo yes || echo no'), 'no');
});

test.serial('file: directory, mode, link, absent', async (t) => {
  await idempotent(
    t,
    [
      { name: 'dir', file: { path: '/var/lib/l2lab/d', state: 'directory', mode: '0750' } },
      { name: 'link', file: { path: '/var/lib/l2lab/l', state: 'link', src: '/var/lib/l2lab/d' } },
    ],
    async () =>
      t.is(await sh('node01', 'stat -c %a /var/lib/l2lab/d; readlink /var/lib/l2lab/l'), '750\n/var/lib/l2lab/d'),
  );
  await idempotent(t, [{ name: 'rm', file: { path: '/var/lib/l2lab/l', state: 'absent' } }], async () =>
    t.is(await sh('node01', 'test -e /var/lib/l2lab/l && echo yes || echo no'), 'no'),
  );
  const bad = await play(inv, [{ name: 'not a dir', file: { path: '/etc/hostname', state: 'directory' } }], one);
  t.regex(bad.text, /\/etc\/hostname exists and is a file, not a directory/);
});

test.serial('copy and template: content, mode, diff; undefined variables name the variable and the task', async (t) => {
  await idempotent(
    t,
    [{ name: 'cfg', copy: { dest: '/etc/l2lab/a.conf', content: 'x = 1\n', mode: '0600' } }],
    async () => t.is(await sh('node01', 'cat /etc/l2lab/a.conf; stat -c %a /etc/l2lab/a.conf'), 'x = 1\n600'),
  );
  const d = await play(inv, [{ name: 'cfg', copy: { dest: '/etc/l2lab/a.conf', content: 'x = 2\n' } }], {
    ...one,
    diff: true,
    check: true,
  });
  t.regex(d.text, /-x = 1\n\+x = 2/);
  t.is(await sh('node01', 'cat /etc/l2lab/a.conf'), 'x = 1', 'check mode wrote nothing');
  const files = {
    'templates/peers.j2':
      '# {{ inventory_hostname }}\n{% for h in groups.workers %}\npeer {{ hostvars[h].l2lab_switch_ipv4 }}\n{% endfor %}\n',
  };
  await idempotent(
    t,
    [{ name: 'tpl', template: { src: 'peers.j2', dest: '/etc/l2lab/peers' } }],
    async () =>
      t.is(
        await sh('node01', 'cat /etc/l2lab/peers'),
        '# node01\npeer 198.18.0.12\npeer 198.18.0.13\npeer 198.18.0.14',
      ),
    { ...one, files },
  );
  const u = await play(
    inv,
    [{ name: 'Write the config', copy: { dest: '/tmp/x', content: '{{ no_such_var }}' } }],
    one,
  );
  t.false(u.ok);
  t.regex(u.text, /undefined variable "no_such_var" in task "Write the config"/);
  const a = await play(inv, [{ name: 'Bad mode', copy: { dest: '/tmp/x', content: 'x', mode: 'rw-r--r--' } }], one);
  t.regex(a.text, /copy: argument mode: an octal mode such as "0644" \(task "Bad mode"\)/);
});

test.serial('lineinfile: add, replace by regexp, remove; create', async (t) => {
  await sh('node01', 'printf "a=1\\nport=22\\n" > /etc/l2lab/li.conf');
  await idempotent(
    t,
    [
      { name: 'replace', lineinfile: { path: '/etc/l2lab/li.conf', regexp: '^port=', line: 'port=2222' } },
      { name: 'add', lineinfile: { path: '/etc/l2lab/li.conf', line: 'b=2', insertafter: '^a=' } },
      { name: 'remove', lineinfile: { path: '/etc/l2lab/li.conf', regexp: '^a=', state: 'absent' } },
    ],
    async () => t.is(await sh('node01', 'cat /etc/l2lab/li.conf'), 'b=2\nport=2222'),
  );
  const d = await play(inv, [{ name: 'd', lineinfile: { path: '/etc/l2lab/li.conf', line: 'c=3' } }], {
    ...one,
    diff: true,
    check: true,
  });
  t.regex(d.text, /\+c=3/);
  const missing = await play(inv, [{ name: 'm', lineinfile: { path: '/etc/l2lab/none.conf', line: 'x' } }], one);
  t.regex(missing.text, /\/etc\/l2lab\/none.conf does not exist; set create: true/);
});

test.serial('sysctl: live value and /etc/sysctl.d, per node', async (t) => {
  await idempotent(t, [{ name: 's', sysctl: { name: 'net.ipv4.conf.all.arp_ignore', value: 1 } }], async () =>
    t.is(
      await sh('node01', 'sysctl -n net.ipv4.conf.all.arp_ignore; cat /etc/sysctl.d/99-l2lab.conf'),
      '1\nnet.ipv4.conf.all.arp_ignore = 1',
    ),
  );
  t.is(
    await sh('node02', 'sysctl -n net.ipv4.conf.all.arp_ignore'),
    '0',
    'node02 untouched: its own network namespace',
  );
  t.is(
    await sh('node02', 'test -e /etc/sysctl.d/99-l2lab.conf && echo yes || echo no'),
    'no',
    "node02's /etc untouched",
  );
  const d = await play(inv, [{ name: 's2', sysctl: { name: 'net.ipv4.conf.all.arp_ignore', value: 2 } }], {
    ...one,
    check: true,
    diff: true,
  });
  t.regex(d.text, /arp_ignore: 1 → 2/);
  t.regex(d.text, /-net.ipv4.conf.all.arp_ignore = 1\n\+net.ipv4.conf.all.arp_ignore = 2/);
  t.is(await sh('node01', 'sysctl -n net.ipv4.conf.all.arp_ignore'), '1');
  const bad = await play(inv, [{ name: 'bad', sysctl: { name: 'net.ipv4.no_such_key', value: 1 } }], one);
  t.regex(bad.text, /unknown sysctl net.ipv4.no_such_key/);
});

test.serial('modprobe: a loaded module persisted; a missing module fails clearly', async (t) => {
  await idempotent(t, [{ name: 'm', modprobe: { name: 'bridge', persistent: 'present' } }], async () =>
    t.is(await sh('node01', 'cat /etc/modules-load.d/bridge.conf'), 'bridge'),
  );
  const bad = await play(inv, [{ name: 'nope', modprobe: { name: 'l2l_no_such_module' } }], one);
  t.false(bad.ok);
  t.regex(bad.text, /modprobe l2l_no_such_module failed/);
});

test.serial("apt: the host's packages on the netns lab, once, under a lock", async (t) => {
  const present = await play(inv, [{ name: 'p', apt: { name: ['iproute2', 'openssh-server'] } }]);
  t.true(present.ok, present.text);
  t.is(present.changed, 0);
  t.true(
    present.report.records
      .filter((r) => r.task === 'p')
      .every((r) => /packages are the host's \(netns lab\)/.test(r.msg ?? '')),
  );
  const wasInstalled =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    (await netns.exec(lab, 'node01', ['dpkg-query', '-W', '-f=${db:Status-Status}', 'hello'])).stdout === 'installed';
  if (!wasInstalled) {
    const check = await play(inv, [{ name: 'h', apt: { name: 'hello' } }], { check: true });
    t.regex(check.text, /would install hello/);
    const install = await play(inv, [{ name: 'h', apt: { name: 'hello' } }]);
    t.true(install.ok, install.text);
    t.is(
      install.report.records.filter((r) => r.task === 'h' && r.status === 'changed').length,
      1,
      'installed once, for one host',
    );
    t.is(install.report.records.filter((r) => r.task === 'h' && r.status === 'ok').length, 3);
    t.is((await play(inv, [{ name: 'h', apt: { name: 'hello' } }])).changed, 0);
    const remove = await play(inv, [{ name: 'h', apt: { name: 'hello', state: 'absent' } }]);
    t.true(remove.ok, remove.text);
    t.is(remove.changed, 1);
  } else t.pass('hello was already installed here; not removing what this test did not install');
});

test.serial('service: l2l-service without systemd; started, stopped, enabled, restarted; handlers', async (t) => {
  const define = {
    name: 'define',
    copy: { dest: '/etc/l2lab/services/sleeper.service', content: "EXEC='sleep 1000'\nENABLED=no\n" },
  };
  t.true((await play(inv, [define], one)).ok);
  await idempotent(t, [{ name: 'start', service: { name: 'sleeper', state: 'started', enabled: true } }], async () =>
    t.regex(
      await sh('node01', '/etc/l2lab/bin/l2l-service status sleeper; grep ENABLED /etc/l2lab/services/sleeper.service'),
      /running[\s\S]*ENABLED=yes/,
    ),
  );
  const restart = await play(inv, [{ name: 'r', service: { name: 'sleeper', state: 'restarted' } }], one);
  t.is(restart.changed, 1);
  await idempotent(t, [{ name: 'stop', service: { name: 'sleeper', state: 'stopped' } }], async () =>
    t.regex(await sh('node01', '/etc/l2lab/bin/l2l-service status sleeper || true'), /stopped/),
  );
  const none = await play(inv, [{ name: 'none', service: { name: 'nosuch', state: 'started' } }], one);
  t.regex(none.text, /no service "nosuch" on node01 \(\/etc\/l2lab\/services\/nosuch.service missing\)/);
});

test.serial('wait_for: port, path, command, and a timeout that fails', async (t) => {
  const r = await play(
    inv,
    [
      { name: 'ssh', wait_for: { host: '{{ l2lab_management_ipv4 }}', port: 22, timeout: 5 } },
      { name: 'file', wait_for: { path: '/etc/hostname', search_regex: 'node0[0-9]', timeout: 5 } },
      { name: 'cmd', wait_for: { command: 'test -d /proc/1', timeout: 5 } },
    ],
    one,
  );
  t.true(r.ok, r.text);
  t.is(r.changed, 0);
  const late = await play(inv, [{ name: 'never', wait_for: { path: '/nonexistent', timeout: 0.3 } }], one);
  t.regex(late.text, /timed out after 0.3 s waiting for \/nonexistent present/);
});

test.serial('fail: with when, a failed wait ends the host with the log it registered; skipped otherwise', async (t) => {
  const tasks = (path: string) => [
    { name: 'up', wait_for: { path, timeout: 0.3 }, register: 'up', ignore_errors: true },
    { name: 'log', shell: 'echo agent: bind failed', register: 'log', changed_when: false, when: 'up.failed' },
    { name: 'why', fail: { msg: 'did not come up; its log:\n{{ log.stdout }}' }, when: 'up.failed' },
    { name: 'after', command: 'true' },
  ];
  const down = await play(inv, tasks('/nonexistent'), one);
  t.false(down.ok, down.text);
  const why = down.report.records.find((r) => r.task === 'why')!;
  t.is(why.status, 'failed');
  t.is(why.msg, 'did not come up; its log:\nagent: bind failed');
  t.false(
    down.report.records.some((r) => r.task === 'after'),
    'the host stops at the failure',
  );
  const checked = await play(inv, [{ name: 'why', fail: { msg: 'stop here' } }], { ...one, check: true });
  t.false(checked.ok, 'it changes nothing, so it fails in check mode too');
  t.is(checked.report.records.find((r) => r.task === 'why')?.msg, 'stop here');
  const fine = await play(inv, tasks('/etc/hostname'), one);
  t.true(fine.ok, fine.text);
  t.is(fine.report.records.find((r) => r.task === 'why')!.status, 'skipped');
  await t.throwsAsync(play(inv, [{ name: 'b', fail: { message: 'x' } }], one), {
    message: /\("b"\)\.fail: unknown argument message \(arguments: msg\)/,
  });
});

test.serial("bmc: the lab's BMC started on the controller once; the registered result says where it is", async (t) => {
  const host = lab.management.hostAddress;
  await idempotent(
    t,
    [
      { name: 'bmc', bmc: {}, register: 'b' },
      {
        name: 'where',
        copy: { content: '{{ b.url }} {{ b.user }} {{ b.systems.node01 }}\n', dest: '/var/lib/l2lab/bmc-where' },
      },
    ],
    async () => {
      t.is(
        await sh('node01', 'cat /var/lib/l2lab/bmc-where'),
        `https://${host}:8443/redfish/v1 l2lab /redfish/v1/Systems/node01`,
      );
      // It listens on the management network, where the nodes reach it.
      t.is(await sh('node01', `timeout 2 bash -c '</dev/tcp/${host}/8443' && echo open`), 'open');
    },
  );
});

test.serial('get_url: from the controller (path, file://, http on loopback) with checksum', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l2l-url-'));
  const body = 'artifact v1\n';
  writeFileSync(join(dir, 'a.txt'), body);
  const sum = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  await idempotent(
    t,
    [{ name: 'g', get_url: { url: join(dir, 'a.txt'), dest: '/var/lib/l2lab/a.txt', checksum: sum } }],
    async () => t.is(await sh('node01', 'cat /var/lib/l2lab/a.txt'), 'artifact v1'),
  );
  const server: Server = createServer((_, res) => res.end('over http\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const h = await play(
      inv,
      [
        { name: 'h', get_url: { url: `http://127.0.0.1:${port}/x`, dest: '/var/lib/l2lab/h.txt' } },
        { name: 'f', get_url: { url: `file://${dir}/a.txt`, dest: '/var/lib/l2lab/f.txt' } },
      ],
      one,
    );
    t.true(h.ok, h.text);
    t.is(await sh('node01', 'cat /var/lib/l2lab/h.txt /var/lib/l2lab/f.txt'), 'over http\nartifact v1');
  } finally {
    server.close();
  }
  const bad = await play(
    inv,
    [
      {
        name: 'g',
        get_url: { url: join(dir, 'a.txt'), dest: '/var/lib/l2lab/b.txt', checksum: `sha256:${'0'.repeat(64)}` },
      },
    ],
    one,
  );
  t.regex(bad.text, /checksum mismatch/);
});

test.serial('get_url in check mode fetches nothing (an offline lab can be checked)', async (t) => {
  const r = await play(
    inv,
    [{ name: 'g', get_url: { url: 'http://127.0.0.1:9/unreachable.tar.gz', dest: '/var/lib/l2lab/never.tar.gz' } }],
    { ...one, check: true },
  );
  t.true(r.ok, r.text);
  t.is(r.changed, 1);
  t.regex(JSON.stringify(r.report.records), /would download http:\/\/127.0.0.1:9\/unreachable.tar.gz/);
  t.is(await sh('node01', 'test -e /var/lib/l2lab/never.tar.gz && echo present || echo absent'), 'absent');
});

test.serial('kubectl_apply: refuses without kubectl, and bad arguments', async (t) => {
  const r = await play(
    inv,
    [{ name: 'k', kubectl_apply: { definition: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } } }],
    one,
  );
  t.false(r.ok);
  t.regex(r.text, /kubectl not found on node01|kubeconfig \/etc\/kubernetes\/admin.conf not found on node01/);
  const both = await play(inv, [{ name: 'k2', kubectl_apply: { src: '/a', definition: 'x' } }], one);
  t.regex(both.text, /give either src .* or definition/);
});

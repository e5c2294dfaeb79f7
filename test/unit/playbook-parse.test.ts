import test from 'ava';
import { PlaybookError, parsePlaybook } from '../../playbooks/playbook.ts';

const problems = (yaml: string) => {
  try {
    parsePlaybook(yaml, 'p.yaml');
  } catch (e) {
    if (e instanceof PlaybookError) return e.problems.join('\n');
    throw e;
  }
  throw new Error('accepted');
};

test('a playbook is a list of plays', (t) => {
  t.regex(problems('hosts: all\n'), /a playbook is a list of plays/);
});

test('misspelt task keys, modules and arguments are named with the task', (t) => {
  const p = problems(`
- hosts: all
  tasks:
    - name: one
      copy: { dest: /tmp/x, contnet: hi }
    - name: two
      whn: x
      file: { path: /tmp }
    - name: three
      copy: { dest: /a, content: b }
      file: { path: /a }
    - name: four
      debug: { msg: hi }
    - name: five
      file: { path: /a }
      notify: nobody
    - name: six
      sysctl: "net.ipv4.ip_forward=1"
`);
  t.regex(
    p,
    /tasks\[0\] \("one"\)\.copy: unknown argument contnet \(arguments: dest, content, src, mode, owner, group\)/,
  );
  t.regex(p, /tasks\[1\] \("two"\): unknown key whn: not a task keyword/);
  t.regex(p, /tasks\[2\] \("three"\): several modules \(copy, file\)/);
  t.regex(p, /tasks\[3\] \("four"\): unknown key debug: .*a module \(apt, bmc, command/);
  t.regex(p, /tasks\[4\]\.notify: no handler "nobody"/);
  t.regex(p, /tasks\[5\] \("six"\)\.sysctl: takes named arguments/);
});

test('unknown play keys are listed with the valid ones', (t) => {
  t.regex(
    problems('- hosts: all\n  taks: []\n'),
    /plays\[0\]: unknown key "taks"; remove it or fix the spelling \(valid keys: name, hosts/,
  );
});

test('free-form commands and args', (t) => {
  const pb = parsePlaybook('- hosts: all\n  tasks:\n    - command: ls -l /\n      args: { chdir: /tmp }\n', 'p.yaml');
  t.deepEqual(pb.plays[0]!.tasks[0]!.args, { cmd: 'ls -l /', chdir: '/tmp' });
  t.is(pb.plays[0]!.tasks[0]!.name, 'command');
});

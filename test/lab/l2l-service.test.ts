// l2l-service's MATCH services: a process something else supervises (on a cluster, cilium-agent
// under the kubelet) as a target for the process faults. Here the supervisor is a shell loop on a
// netns node; the faults go through the provider exactly as the suite injects them.

import test from 'ava';
import { injectFault, undoFault } from '../../lab/faults/index.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { readFaults } from '../../lab/state.ts';
import { netns, quiet, testLab } from '../helpers.ts';

const lab = testLab('tsvc', 112);
const sh = async (cmd: string) => (await netns.exec(lab, 'node01', ['sh', '-c', cmd])).stdout.trim();
const pid = () => sh('pgrep -o -x l2lworker || true');
const state = async (p: string) => await sh(`awk '{print $3}' /proc/${p}/stat`);

test.before(async () => {
  await labDown(lab.name, quiet, netns);
  await labUp(lab, quiet, netns);
  await sh(
    [
      'cp /bin/sleep /var/lib/l2lab/l2lworker',
      // The "supervisor": restarts the worker whenever it exits, like the kubelet restarts a container.
      `printf '%s\\n' "EXEC='sh -c \\"while true; do /var/lib/l2lab/l2lworker 1000; sleep 0.2; done\\"'" ENABLED=yes > ` +
        `/etc/l2lab/services/supervisor.service`,
      "printf 'MATCH=l2lworker\\nWAIT=10\\n' > /etc/l2lab/services/worker.service",
      '/etc/l2lab/bin/l2l-service start supervisor',
    ].join(' && '),
  );
});
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

test.serial(
  'process-stop (KILL) kills the matched process; undo waits until its supervisor has restarted it',
  async (t) => {
    let before = '';
    for (let i = 0; i < 50 && !before; i++) {
      before = await pid();
      if (!before) await new Promise((r) => setTimeout(r, 100));
    }
    t.regex(before, /^\d+$/);
    t.regex(await sh('/etc/l2lab/bin/l2l-service status worker'), new RegExp(`worker running \\(pid ${before}\\)`));
    const f = { kind: 'process-stop', node: 'node01', process: 'worker', signal: 'KILL' } as const;
    await injectFault(netns, lab, f);
    t.not(await sh(`kill -0 ${before} 2>/dev/null && echo alive || echo gone`), 'alive');
    await undoFault(netns, lab, f);
    const after = await pid();
    t.regex(after, /^\d+$/);
    t.not(after, before);
  },
);

test.serial(
  'pause stops the matched process (SIGSTOP), undo resumes it; start-enabled leaves it to its supervisor',
  async (t) => {
    const p = await pid();
    const f = { kind: 'pause', node: 'node01', process: 'worker' } as const;
    await injectFault(netns, lab, f);
    t.is(await state(p), 'T');
    await undoFault(netns, lab, f);
    t.is(await state(p), 'S');
    t.notRegex(await sh('/etc/l2lab/bin/l2l-service start-enabled'), /worker/);
    t.is(await pid(), p);
  },
);

test.serial('a stop that runs past STOP_TIMEOUT kills the whole service, leaving no orphan', async (t) => {
  await sh(
    [
      'cp /bin/sleep /var/lib/l2lab/l2lorphan',
      // The main process and its child ignore TERM: only KILL ends them.
      `printf '%s\\n' "EXEC='sh -c \\"trap \\\\\\"\\\\\\" TERM; /var/lib/l2lab/l2lorphan 1000 & wait\\"'" STOP_TIMEOUT=1 > ` +
        `/etc/l2lab/services/stubborn.service`,
      '/etc/l2lab/bin/l2l-service start stubborn',
    ].join(' && '),
  );
  t.teardown(() => sh('pkill -KILL -x l2lorphan || true'));
  let child = '';
  for (let i = 0; i < 50 && !child; i++) {
    child = await sh('pgrep -x l2lorphan || true');
    if (!child) await new Promise((r) => setTimeout(r, 100));
  }
  t.regex(child, /^\d+$/, 'the service started its child');
  const t0 = Date.now();
  t.regex(await sh('/etc/l2lab/bin/l2l-service stop stubborn'), /stubborn stopped \(TERM\)/);
  t.true(Date.now() - t0 >= 1000, 'TERM was given its STOP_TIMEOUT (1 s) first');
  t.is(await sh('pgrep -x l2lorphan || echo none'), 'none', "the child did not outlive the service's KILL");
  t.regex(await sh('/etc/l2lab/bin/l2l-service status stubborn || true'), /stubborn stopped/);
});

test.serial(
  "STOP_SIGNAL is what a stop sends first (systemd's KillSignal): a daemon that handles only INT ends at once",
  async (t) => {
    await sh(
      [
        // Handles INT (as vip-manager 1.0 does), ignores TERM.
        `printf '%s\\n' '#!/bin/sh' "trap 'echo int > /var/lib/l2lab/l2lint.got; exit 0' INT" "trap '' TERM" ` +
          `'while :; do sleep 0.1; done' > /var/lib/l2lab/l2lint && chmod +x /var/lib/l2lab/l2lint`,
        'rm -f /var/lib/l2lab/l2lint.got',
        `printf '%s\\n' "EXEC='/var/lib/l2lab/l2lint'" STOP_SIGNAL=INT STOP_TIMEOUT=5 > /etc/l2lab/services/intonly.service`,
        '/etc/l2lab/bin/l2l-service start intonly',
      ].join(' && '),
    );
    const t0 = Date.now();
    t.regex(await sh('/etc/l2lab/bin/l2l-service stop intonly'), /intonly stopped \(INT\)/);
    t.true(Date.now() - t0 < 4000, `ended by INT, not by the KILL after 5 s (${Date.now() - t0} ms)`);
    t.is(await sh('cat /var/lib/l2lab/l2lint.got'), 'int');
  },
);

test.serial(
  'a fence power-cycles the machine while process-stop is in force: the undo leaves it to the boot, which starts it',
  async (t) => {
    const f = { kind: 'process-stop', node: 'node01', process: 'supervisor' } as const;
    await injectFault(netns, lab, f);
    t.regex(await sh('/etc/l2lab/bin/l2l-service status supervisor || true'), /supervisor stopped/);
    // The lab's BMC powers the machine off behind the fault's back, as a fencing peer asks it.
    await netns.power!(lab, 'node01', false);
    t.false(await netns.powered!(lab, 'node01'));
    // Nothing to start on a machine without power: the undo returns, the fault is no longer in force.
    await undoFault(netns, lab, f);
    t.deepEqual(readFaults(lab), []);
    await netns.power!(lab, 'node01', true);
    t.true(await netns.powered!(lab, 'node01'));
    t.regex(await sh('/etc/l2lab/bin/l2l-service status supervisor'), /supervisor running/);
    // On a machine with power, a call that fails for another reason still fails, saying why.
    const missing = { kind: 'process-stop', node: 'node01', process: 'l2lnosuch' } as const;
    await t.throwsAsync(undoFault(netns, lab, missing), { message: /l2l-service start l2lnosuch on node01 failed/ });
  },
);

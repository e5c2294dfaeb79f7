// Checks set themselves up (Check.setup): the suite asks each selected check whose features the
// subject claims and for which the lab has room; the subject's install vars carry the values.
import test from 'ava';
import { checks } from '../../conformance/checks/index.ts';
import { loadSubject } from '../../conformance/subject.ts';
import { installPlan, offSetup, setupChecks } from '../../conformance/suite.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labFile } from '../helpers.ts';

const all = () => true;
const lab = loadLab(labFile('tsetup', 124));
const big = loadLab(labFile('tsetup2', 125, () => {}, 'labs/scale.yaml'));
const reference = loadSubject('reference', lab.lease);

test('the checks with a setup: chosen by selection, the subject’s features and the lab’s room', (t) => {
  t.deepEqual(
    checks
      .filter((c) => c.setup)
      .map((c) => c.id)
      .sort(),
    ['local-traffic', 'quiet-switch', 'scale', 'shared-ip'],
  );
  const ids = (l = lab, s = reference, sel: (id: string) => boolean = all) =>
    setupChecks(s, l, sel)
      .map((c) => c.id)
      .sort();
  t.deepEqual(
    ids(),
    ['local-traffic', 'shared-ip'],
    'the default pool has no room for 50 VIPs, its switch never forgets',
  );
  const quiet = loadLab(labFile('tsetup3', 132, (d) => void (d.switch.ageingTime = 6)));
  t.deepEqual(ids(quiet), ['local-traffic', 'quiet-switch', 'shared-ip'], 'an ageing switch: periodic announcements');
  t.is(
    checks.find((c) => c.id === 'quiet-switch')!.setup!.value(quiet),
    2000,
    'a third of the ageing time (keepalived.conf(5))',
  );
  t.deepEqual(ids(big), ['local-traffic', 'scale', 'shared-ip']);
  t.deepEqual(
    ids(lab, reference, (id) => id !== 'shared-ip'),
    ['local-traffic'],
    'a skipped check installs nothing',
  );
  t.deepEqual(ids(lab, loadSubject('keepalived', lab.lease)), [], 'keepalived claims neither ip-sharing nor Local');
});

test("a check's setup reaches the subject's install variables; off when not set up", (t) => {
  const vips = [{ service: 'kube-system/cilium-gateway-central', ipv4: '198.18.0.100', labels: {} }];
  const off = installPlan(reference, vips)!.vars;
  t.is(off.announcer_shared, false);
  t.is(off.announcer_local, false);
  t.is(Number(off.announcer_extra_services), 0);
  const setup: Record<string, unknown> = { ...offSetup() };
  for (const c of setupChecks(reference, big, all)) setup[c.setup!.variable] = c.setup!.value(big, vips[0]);
  const on = installPlan(reference, vips, setup)!.vars;
  t.is(Number(on.announcer_extra_services), 49);
  t.is(on.announcer_local, true);
  t.like(on.announcer_shared as object, { sharingKey: 'l2lab-shared' });
  t.truthy((on.announcer_shared as { pinned?: unknown }).pinned, 'with the main VIP known, the pinned external IP too');
  // before the subject has chosen the main VIP: only the sharing key
  const first = checks.find((c) => c.id === 'shared-ip')!.setup!;
  t.true(first.needsMain);
  t.deepEqual(first.value(lab, undefined), { sharingKey: 'l2lab-shared' });
});

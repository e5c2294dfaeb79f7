// Cilium checked by Cilium's own artifacts: every vendored release chart (playbooks/files/cilium/
// charts/) renders l2lab's values with the real helm, and the rendered cilium-config has what the
// lab needs, each key named with the lab setting it comes from. A values error reaches the user as
// helm's own message with the version.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { loadLab } from '../lab/labfile.ts';
import {
  CHARTS_DIR,
  chartVersions,
  compareVersions,
  configProblems,
  helmYaml,
  renderChart,
  wantedConfig,
} from '../playbooks/cluster/chart.ts';
import { ciliumValues } from '../playbooks/cluster/values.ts';
import { repo } from './helpers.ts';

const lab = loadLab(join(repo, 'labs', 'cilium.yaml'));

test('versions in semantic order: a pre-release before its release', (t) => {
  t.deepEqual(['1.20.0', '1.21.0-pre.0', '1.20.0-pre.1', '1.19.6', '1.20.0-pre.10'].sort(compareVersions), [
    '1.19.6',
    '1.20.0-pre.1',
    '1.20.0-pre.10',
    '1.20.0',
    '1.21.0-pre.0',
  ]);
});

test('the four released charts are vendored unchanged (their hashes in playbooks/files/SOURCES.md)', async (t) => {
  t.deepEqual(chartVersions(), ['1.19.6', '1.20.0-pre.1', '1.20.0', '1.21.0-pre.0']);
  const sources = readFileSync(join(repo, 'playbooks', 'files', 'SOURCES.md'), 'utf8');
  const { createHash } = await import('node:crypto');
  for (const v of chartVersions()) {
    const sha = createHash('sha256')
      .update(readFileSync(join(CHARTS_DIR, `cilium-${v}.tgz`)))
      .digest('hex');
    t.true(sources.includes(`${sha}  cilium/charts/cilium-${v}.tgz`), `${v}: ${sha} in SOURCES.md`);
  }
});

for (const version of ['1.19.6', '1.20.0-pre.1', '1.20.0', '1.21.0-pre.0'])
  test(`Cilium ${version}: real helm renders l2lab's values, and cilium-config has every key the lab needs`, async (t) => {
    const values = ciliumValues(lab);
    const r = await renderChart(version, helmYaml(values));
    const rate = values.k8sClientRateLimit as { qps: number; burst: number };
    t.deepEqual(configProblems(r.config, wantedConfig(lab, rate), version), []);
    t.is(r.config['l2-announcements-lease-duration'], '15s');
    t.is(r.config['enable-ipv6'], 'true', 'labs/cilium.yaml is dual-stack');
    t.regex(r.manifests, /kind: DaemonSet\n[\s\S]*name: cilium\n/);
  });

test('a key the chart sets otherwise is named with the lab setting it comes from', (t) => {
  const wanted = wantedConfig(lab, { qps: 10, burst: 20 });
  const p = configProblems({ 'l2-announcements-lease-duration': '15s' }, wanted, '1.20.0');
  t.true(
    p.includes(
      `Cilium 1.20.0's chart renders enable-l2-announcements=(absent), the lab needs "true" (from L2 announcements (the policy))`,
    ),
  );
  t.true(p.some((x) => /renew-deadline=\(absent\).*from lease\.renewDeadline/.test(x)));
  t.false(
    p.some((x) => x.includes('lease-duration')),
    'a key that matches is no problem',
  );
});

test("a value the chart's schema refuses reaches the user as helm's own message, with the version", async (t) => {
  const bad = { ...ciliumValues(lab), l2announcements: { enabled: 'yes' } };
  const e = await t.throwsAsync(renderChart('1.20.0', helmYaml(bad)));
  t.regex(e!.message, /^helm template of Cilium 1\.20\.0: .*'\/l2announcements\/enabled': got string, want boolean/s);
  // helm reads YAML 1.1: a plain yes would have passed as true. The values are written so that it cannot.
  t.is(helmYaml({ a: 'yes', b: 'on', c: true }), 'a: "yes"\nb: "on"\nc: true\n');
  await t.throwsAsync(renderChart('9.9.9', ''), {
    message: /no vendored chart for Cilium 9\.9\.9; vendored: 1\.19\.6, 1\.20\.0-pre\.1, 1\.20\.0, 1\.21\.0-pre\.0/,
  });
});

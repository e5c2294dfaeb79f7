// Cilium checked by Cilium's own artifacts: every vendored release chart (playbooks/files/cilium/
// charts/) renders l2lab's values with the real helm, and the rendered cilium-config has what the
// lab needs, each key named with the lab setting it comes from. A values error reaches the user as
// helm's own message with the version.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { loadLab } from '../../lab/labfile.ts';
import {
  CHARTS_DIR,
  chartVersions,
  compareVersions,
  configProblems,
  helmYaml,
  renderChart,
  wantedConfig,
} from '../../playbooks/cluster/chart.ts';
import { chartFlags } from '../../playbooks/cluster/cilium-cli.ts';
import { renderCiliumChart, renderCluster } from '../../playbooks/cluster/render.ts';
import { ciliumValues } from '../../playbooks/cluster/values.ts';
import { repo } from '../helpers.ts';

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

// What `cilium install` really renders: cilium-cli's additions (cilium-cli/install/helm.go,
// autodetect.go) and the API versions served once the Gateway API CRDs are in.
test('render adds what cilium-cli adds on install, and renders with the Gateway API the cluster serves', async (t) => {
  const r = await renderCiliumChart(lab, renderCluster(lab));
  t.deepEqual(r.problems, []);
  const config = parseAllDocuments(r.files['cilium-manifests.yaml']!)
    .map((d) => d.toJS())
    .find((d) => d?.kind === 'ConfigMap' && d.metadata.name === 'cilium-config').data;
  t.like(config, { 'cluster-name': 'l2lab-cilium', 'routing-mode': 'tunnel', 'tunnel-protocol': 'vxlan' });
  t.true(r.notes.some((n) => /^cilium-cli v0\.18\.9 adds on install .*cluster\.name=l2lab-cilium/.test(n)));
  t.false('cluster' in r.values, 'cilium-values.yaml stays l2lab’s own: cilium-cli adds the rest itself');
  // Single-stack: the chart makes GatewayClass cilium (gatewayClass.create auto) only because the
  // API server serves gateway.networking.k8s.io/v1 GatewayClass; dual-stack labs make their own.
  const v4 = {
    ...lab,
    nodes: lab.nodes.map((n) => ({ ...n, interfaces: n.interfaces.map(({ ipv6: _, ...i }) => i) })),
  } as typeof lab;
  const kinds = (m: string) => parseAllDocuments(m).map((d) => (d.toJS() as { kind?: string } | null)?.kind);
  t.true(
    kinds((await renderCiliumChart(v4, renderCluster(v4))).files['cilium-manifests.yaml']!).includes('GatewayClass'),
  );
  t.false(
    kinds((await renderChart('1.20.0', helmYaml(ciliumValues(v4)))).manifests).includes('GatewayClass'),
    'offline, no',
  );
  t.false(kinds(r.files['cilium-manifests.yaml']!).includes('GatewayClass'), 'dual-stack: gatewayClass.create false');
});

test('-e for mirrors: the chart from a repository or a directory, every image from a registry', async (t) => {
  const sources = {
    chartRepository: 'http://mirror.example/cilium-charts',
    imageRegistry: 'mirror.example:5000/cilium',
  };
  const r = await renderCiliumChart(lab, renderCluster(lab, undefined, sources));
  t.deepEqual(r.problems, []);
  const images = [...r.files['cilium-manifests.yaml']!.matchAll(/^\s*image: "?([^"\s]+)"?$/gm)].map((m) => m[1]!);
  t.true(images.length >= 3, images.join(' '));
  for (const i of images) t.true(i.startsWith('mirror.example:5000/cilium/'), i);
  t.regex(
    r.transcript.join('\n'),
    /cilium install -f cilium-values\.yaml --version=1\.20\.0 --repository http:\/\/mirror\.example\/cilium-charts/,
  );
  t.deepEqual(chartFlags({ chartDirectory: '/srv/charts/cilium' }), ['--chart-directory', '/srv/charts/cilium']);
  for (const [flag, why] of [
    ['cilium_chart_repository=ftp://x', /an http\(s\):\/\/ or oci:\/\/ URL/],
    ['cilium_chart_directory=charts/cilium', /an absolute path on the control plane/],
    ['cilium_image_registry=Bad Registry', /a registry host/],
  ] as const) {
    const cli = await execa(
      'node',
      [join(repo, 'scripts/run.mjs'), 'cluster', 'render', '--lab', 'labs/cilium.yaml', '-e', flag],
      {
        cwd: repo,
        reject: false,
      },
    );
    t.is(cli.exitCode, 2, flag);
    t.regex(cli.stderr, why);
    t.regex(cli.stderr, new RegExp(`-e ${flag.split('=')[0]}`));
  }
});

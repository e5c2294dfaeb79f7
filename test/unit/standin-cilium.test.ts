// The stand-in Kubernetes tools (test/standins) follow the real artifacts: run here on this host
// against a throw-away store, the stand-in operator starts its Gateway controller only when the
// vendored CRDs serve what l2lab's version table says that Cilium's operator checks, and the
// Gateway API bundles' own safe-upgrades policy refuses going back to older CRDs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { loadLab } from '../../lab/labfile.ts';
import { CHARTS_DIR, chartVersions, HELM, helmYaml } from '../../playbooks/cluster/chart.ts';
import { tutorialObjects } from '../../playbooks/cluster/manifests.ts';
import { ciliumValues } from '../../playbooks/cluster/values.ts';
import { gatewayApiFiles, versionTable } from '../../playbooks/cluster/versions.ts';
import { repo } from '../helpers.ts';

const lab = loadLab(join(repo, 'labs', 'cilium.yaml'));
const STANDINS = join(repo, 'test', 'standins');

// cilium-cli reads a chart directory (--chart-directory): the vendored charts, unpacked once for
// every test of the file (read only; each test's cluster state is its own).
const chartsDir = mkdtempSync(join(tmpdir(), 'l2l-charts-'));
test.before(() => {
  for (const v of chartVersions()) {
    mkdirSync(join(chartsDir, v));
    execFileSync('tar', ['-xzf', join(CHARTS_DIR, `cilium-${v}.tgz`), '-C', join(chartsDir, v)]);
  }
});
test.after.always(() => rmSync(chartsDir, { recursive: true, force: true }));

/** A fresh stand-in cluster in a temporary directory; `run` calls a stand-in tool against it. */
function cluster(t: ExecutionContext) {
  const dir = mkdtempSync(join(tmpdir(), 'l2l-standin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  writeFileSync(join(dir, 'versions.json'), JSON.stringify(versionTable()));
  writeFileSync(
    join(dir, 'state.json'),
    JSON.stringify({ objects: {}, tokens: {}, cilium: null, crds: {}, cluster: { name: 'kubernetes' } }),
  );
  writeFileSync(join(dir, 'values.yaml'), helmYaml(ciliumValues(lab)));
  writeFileSync(
    join(dir, 'objects.yaml'),
    tutorialObjects(lab)
      .map((o) => `---\n${JSON.stringify(o)}\n`)
      .join(''),
  );
  const env = {
    L2LAB_STANDIN_HELM: HELM,
    L2LAB_STANDIN_STATE: dir,
    L2LAB_STANDIN_VERSIONS: join(dir, 'versions.json'),
    KUBECONFIG: join(dir, 'kubeconfig'),
  };
  // Debian's python3 with its python3-yaml (scripts/install.sh), as the stand-ins run on the VMs
  // (repo.ts), not whatever python3 comes first on PATH (a pyenv shim costs 0.25 s a call).
  const run = (tool: string, ...args: string[]) =>
    execa('/usr/bin/python3', [join(STANDINS, `${tool}.py`), ...args], { env, reject: false });
  // The bundle in one apply, as the cluster playbook does (kubectl_apply with a list).
  const crds = async (g: string) => {
    const files = gatewayApiFiles(g).flatMap((f) => ['-f', join(repo, 'playbooks', 'files', `gateway-api-${g}`, f)]);
    const r = await run('kubectl', 'apply', '--server-side', ...files);
    return r.exitCode ? r : undefined;
  };
  const gateway = async () =>
    JSON.parse((await run('kubectl', '-n', 'kube-system', 'get', 'gateway', 'central', '-o', 'json')).stdout) as {
      status?: { addresses?: unknown[]; conditions?: { type: string; status: string }[] };
    };
  const install = (version: string, ...more: string[]) =>
    run(
      'cilium',
      'install',
      '--chart-directory',
      join(chartsDir, version, 'cilium'),
      '-f',
      join(dir, 'values.yaml'),
      ...more,
    );
  return { dir, run, crds, gateway, install };
}

for (const [cilium, g, programmed] of [
  ['1.20.0', 'v1.6.1', true],
  ['1.20.0', 'v1.4.1', false],
  ['1.20.0-pre.1', 'v1.4.1', true],
] as const)
  test(`stand-in operator: Cilium ${cilium} on Gateway API ${g} ${programmed ? 'programs' : 'never programs'} the Gateway`, async (t) => {
    const c = cluster(t);
    t.is(await c.crds(g), undefined);
    const install = await c.install(cilium);
    t.is(install.exitCode, 0, install.stderr);
    const apply = await c.run('kubectl', 'apply', '--server-side', '-f', join(c.dir, 'objects.yaml'));
    t.is(apply.exitCode, 0, apply.stderr);
    const gw = await c.gateway();
    t.is(
      gw.status?.conditions?.find((x) => x.type === 'Programmed')?.status ?? 'Unknown',
      programmed ? 'True' : 'Unknown',
    );
    t.is(gw.status?.addresses?.length ?? 0, programmed ? 2 : 0);
  });

test('stand-in operator: Cilium 1.19.6 on Gateway API v1.6.1 crash-loops (TLSRoute v1alpha2 listed, not served)', async (t) => {
  const c = cluster(t);
  t.is(await c.crds('v1.6.1'), undefined);
  t.is((await c.install('1.19.6')).exitCode, 0);
  const status = await c.run('cilium', 'status');
  t.not(status.exitCode, 0);
  t.regex(
    status.stderr,
    /CrashLoopBackOff: .*no matches for kind "tlsroutes" in version "gateway\.networking\.k8s\.io\/v1alpha2"/,
  );
});

test("stand-in API server: after v1.6.1 the bundle's safe-upgrades policy refuses v1.4.1 CRDs, as the real one does", async (t) => {
  const c = cluster(t);
  t.is(await c.crds('v1.4.1'), undefined, 'no policy yet: v1.4.1 goes in');
  t.is(await c.crds('v1.6.1'), undefined, 'an upgrade is allowed');
  t.is(await c.crds('v1.6.1'), undefined, 'the same bundle again is allowed');
  const back = await c.crds('v1.4.1');
  t.truthy(back);
  t.regex(
    back!.stderr,
    /ValidatingAdmissionPolicy 'safe-upgrades[^']*' .*denied request: Installing CRDs with version before v1\.5\.0/,
  );
});

test('stand-in cilium-cli renders the real chart with the real helm: the agents read the rendered cilium-config', async (t) => {
  const c = cluster(t);
  t.is(await c.crds('v1.6.1'), undefined);
  t.is((await c.install('1.20.0')).exitCode, 0);
  const state = JSON.parse(readFileSync(join(c.dir, 'state.json'), 'utf8'));
  t.like(state.cilium.config, {
    'cluster-name': 'kubernetes',
    'routing-mode': 'tunnel',
    'enable-l2-announcements': 'true',
    'enable-ipv6': 'true',
    'l2-announcements-lease-duration': '15s',
  });
  t.regex(readFileSync(join(c.dir, 'cilium-manifests.yaml'), 'utf8'), /kind: DaemonSet/);
  // helm's own refusal reaches the user, as cilium-cli passes it on.
  writeFileSync(join(c.dir, 'values.yaml'), helmYaml({ ...ciliumValues(lab), l2announcements: { enabled: 'yes' } }));
  const bad = await c.run(
    'cilium',
    'upgrade',
    '--chart-directory',
    join(chartsDir, '1.20.0', 'cilium'),
    '-f',
    join(c.dir, 'values.yaml'),
  );
  t.not(bad.exitCode, 0);
  t.regex(bad.stderr, /^Error: Unable to install Cilium: .*l2announcements\/enabled/s);
  const none = await c.run(
    'cilium',
    'upgrade',
    '--version',
    '1.20.0',
    '--repository',
    'file:///x',
    '-f',
    join(c.dir, 'values.yaml'),
  );
  t.regex(none.stderr, /could not find protocol handler for: file/);
});

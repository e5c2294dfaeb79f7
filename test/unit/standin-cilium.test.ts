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
import { parse, stringify } from 'yaml';
import { addressSource } from '../../conformance/addresses/index.ts';
import { leaseHolder } from '../../conformance/context.ts';
import { kubectlAt } from '../../conformance/kubectl.ts';
import { loadSubject } from '../../conformance/subject.ts';
import { subjectVersion } from '../../conformance/suite.ts';
import { LabFileError, loadLab, parseLab } from '../../lab/labfile.ts';
import { inBlocks } from '../../lab/pool.ts';
import { getProvider } from '../../lab/providers/index.ts';
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

test('the cilium subject on a cluster l2lab did not build: kubectl on this machine reads Gateway, version, lease holder', async (t) => {
  const c = cluster(t);
  t.is(await c.crds('v1.6.1'), undefined);
  t.is((await c.install('1.20.0')).exitCode, 0);
  t.is((await c.run('kubectl', 'apply', '--server-side', '-f', join(c.dir, 'objects.yaml'))).exitCode, 0);
  // Cilium's lease for the Gateway's service (cilium-l2announce-<namespace>-<service>), held by node02.
  const lease = 'cilium-l2announce-kube-system-cilium-gateway-central';
  writeFileSync(
    join(c.dir, 'lease.yaml'),
    JSON.stringify({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: lease, namespace: 'kube-system' },
      spec: { holderIdentity: 'node02' },
    }),
  );
  t.is((await c.run('kubectl', 'apply', '--server-side', '-f', join(c.dir, 'lease.yaml'))).exitCode, 0);
  // The user's kubectl on PATH (the stand-in against this store), the kubeconfig beside the lab file.
  const bin = join(c.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'kubectl'),
    `#!/bin/sh\nL2LAB_STANDIN_STATE=${c.dir} exec /usr/bin/python3 ${join(STANDINS, 'kubectl.py')} "$@"\n`,
    { mode: 0o755 },
  );
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  t.teardown(() => {
    process.env.PATH = path;
  });
  const withKube = (k: Record<string, string>) => {
    const doc = parse(readFileSync(join(repo, 'labs', 'cilium.yaml'), 'utf8'));
    doc.kubernetes = k;
    return parseLab(stringify(doc), join(c.dir, 'lab.yaml'));
  };
  const mine = withKube({ on: 'local', kubeconfig: 'kubeconfig', gateway: 'kube-system/central' });
  t.deepEqual(kubectlAt(mine), {
    host: undefined,
    argv: [join(bin, 'kubectl'), '--kubeconfig', join(c.dir, 'kubeconfig')],
  });
  const provider = getProvider(mine.provider); // reaches no machine: kubectl runs here
  const [vip] = await addressSource('gateway-status').find(mine, provider);
  t.like(vip, { service: 'kube-system/cilium-gateway-central' });
  t.truthy(vip?.ipv4 && inBlocks(mine.pool.blocks, vip.ipv4), JSON.stringify(vip));
  t.truthy(vip?.ipv6 && inBlocks(mine.pool.blocks, vip.ipv6), JSON.stringify(vip));
  const subject = loadSubject('cilium', mine.lease);
  t.is(await subjectVersion(subject, mine, provider), 'v1.20.0');
  t.is(await leaseHolder(subject, mine, provider, lease), 'node02');
  // A Gateway that is not there: kubectl's own message, and where kubectl ran.
  const other = withKube({ on: 'local', kubeconfig: 'kubeconfig', gateway: 'apps/edge' });
  await t.throwsAsync(addressSource('gateway-status').find(other, provider), {
    message: /kubectl -n apps get gateway edge -o json on this machine failed: .*"edge" not found/,
  });
  // Where l2lab builds the cluster: on its control plane, with kubeadm's admin kubeconfig.
  t.deepEqual(kubectlAt(lab), { host: 'cp01', argv: ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf'] });
});

test('kubernetes: in a lab file: where kubectl runs and the Gateway, each problem with its field', (t) => {
  const doc = parse(readFileSync(join(repo, 'labs', 'cilium.yaml'), 'utf8'));
  const problems = (k: Record<string, string>) => {
    doc.kubernetes = k;
    return t.throws(() => parseLab(stringify(doc), '/tmp/l2l-x/lab.yaml'), { instanceOf: LabFileError }).message;
  };
  const e = problems({ on: 'cp9', kubeconfig: 'admin.conf' });
  t.regex(e, /kubernetes\.on: "cp9" is no node of the lab: give control-plane, a node's name \(cp01, /);
  t.regex(e, /kubernetes\.kubeconfig: "admin\.conf" is a path on cp9: give it absolute/);
  t.regex(problems({ gateway: 'central' }), /kubernetes\.gateway: NAMESPACE\/NAME, such as kube-system\/central/);
  // A node of the lab, or this machine with a kubeconfig beside the lab file.
  doc.kubernetes = { on: 'node01', kubeconfig: '/root/.kube/config', gateway: 'apps/edge' };
  t.like(parseLab(stringify(doc), '/tmp/l2l-x/lab.yaml').kubernetes, {
    on: 'node01',
    gateway: { namespace: 'apps', name: 'edge' },
  });
});

// The cluster path, checked offline (no Kubernetes can run here): the tutorial's objects against
// the real CRD schemas, Cilium's values against its chart, the version table, kubeadm's config.

import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { parse, parseAllDocuments } from 'yaml';
import { loadSubject } from '../../conformance/subject.ts';
import { loadLab } from '../../lab/labfile.ts';
import { stateDir } from '../../lab/names.ts';
import { tutorialObjects } from '../../playbooks/cluster/manifests.ts';
import { renderCluster } from '../../playbooks/cluster/render.ts';
import { ensureClusterSecrets } from '../../playbooks/cluster/secrets.ts';
import { validateCiliumValues, validateObject } from '../../playbooks/cluster/validate.ts';
import { ciliumValues } from '../../playbooks/cluster/values.ts';
import { findPlaybook, loadPlaybook } from '../../playbooks/playbook.ts';
import { repo, temporaryStateBase } from '../helpers.ts';

temporaryStateBase();

const lab = loadLab(join(repo, 'lab.yaml'));
/** The Gateway API the default Cilium (1.20.0) pairs with. */
const G = 'v1.6.1';

test('the tutorial objects rendered from the lab file are valid against the real CRD schemas', (t) => {
  const r = renderCluster(lab);
  t.deepEqual(r.problems, []);
  const objs = tutorialObjects(lab);
  t.deepEqual(
    objs.map((o) => `${o.kind}:${validateObject(o, G)?.length ?? 'built-in'}`),
    [
      'CiliumLoadBalancerIPPool:0',
      'CiliumL2AnnouncementPolicy:0',
      'CiliumGatewayClassConfig:0',
      'GatewayClass:0',
      'Gateway:0',
      'HTTPRoute:0',
      'Deployment:built-in',
      'Service:built-in',
    ],
  );
  const gw = objs.find((o) => o.kind === 'Gateway')!;
  t.like(gw, {
    metadata: { name: 'central', namespace: 'kube-system' },
    spec: { gatewayClassName: 'cilium', infrastructure: { labels: { ippool: 'l2announced' } } },
  });
  t.is(parseAllDocuments(r.files['tutorial-objects.yaml']!).length, 8);
});

test('dual-stack where the lab switch has IPv6: pods, services, node IPs, Cilium and the Gateway class', (t) => {
  const r = renderCluster(lab);
  const [init, cluster] = parseAllDocuments(r.files['kubeadm-init.yaml']!).map((d) => d.toJS());
  t.deepEqual(cluster.networking, {
    podSubnet: '10.244.0.0/16,fd00:10:244::/56',
    serviceSubnet: '10.96.0.0/16,fd00:10:96::/112',
  });
  t.deepEqual(init.nodeRegistration.kubeletExtraArgs, [{ name: 'node-ip', value: '198.18.0.11,fd4c:3200:18::11' }]);
  t.deepEqual(parse(r.files['kubeadm-join-node01.yaml']!).nodeRegistration.kubeletExtraArgs, [
    { name: 'node-ip', value: '198.18.0.12,fd4c:3200:18::12' },
  ]);
  const v = ciliumValues(lab);
  t.like(v, {
    ipv6: { enabled: true },
    ipam: { mode: 'kubernetes' },
    gatewayAPI: { gatewayClass: { create: 'false' } },
  });
  t.deepEqual(validateCiliumValues(v), []);
  const objs = tutorialObjects(lab);
  t.like(
    objs.find((o) => o.kind === 'CiliumGatewayClassConfig'),
    {
      spec: { service: { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] } },
    },
  );
  t.like(
    objs.find((o) => o.kind === 'GatewayClass'),
    {
      metadata: { name: 'cilium' },
      spec: {
        controllerName: 'io.cilium/gateway-controller',
        parametersRef: { kind: 'CiliumGatewayClassConfig', name: 'dual-stack' },
      },
    },
  );
  // A lab switch without IPv6 stays single-stack, with Cilium's own GatewayClass.
  const v4 = {
    ...lab,
    nodes: lab.nodes.map((n) => ({ ...n, interfaces: n.interfaces.map(({ ipv6: _, ...i }) => i) })),
  } as typeof lab;
  const [, c4] = parseAllDocuments(renderCluster(v4).files['kubeadm-init.yaml']!).map((d) => d.toJS());
  t.deepEqual(c4.networking, { podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/16' });
  t.false('ipv6' in ciliumValues(v4));
  t.deepEqual(
    tutorialObjects(v4)
      .map((o) => o.kind)
      .slice(2, 3),
    ['Gateway'],
  );
});

test('broken objects are refused with the field named', (t) => {
  const objs = tutorialObjects(lab);
  const [pool, policy] = objs;
  const route = objs.find((o) => o.kind === 'HTTPRoute');
  (route!.spec as any).rules[0].matches[0].path.type = 'Prefix';
  (route!.spec as any).hostnamez = ['x'];
  const r = validateObject(route!, G)!;
  t.true(r.includes('HTTPRoute myroute: spec: unknown field "hostnamez"'));
  t.true(
    r.some((p) =>
      /spec\.rules\.0\.matches\.0\.path\.type: must be equal to one of the allowed values \(Exact, PathPrefix, RegularExpression\)/.test(
        p,
      ),
    ),
  );
  (policy!.spec as any).interfaces = 'eth1';
  t.true(
    validateObject(policy!, G)!.some((p) =>
      /CiliumL2AnnouncementPolicy l2announced-services: spec\.interfaces: must be array/.test(p),
    ),
  );
  (pool!.spec as any).blocks = [{ cidr: 42 }];
  t.true(validateObject(pool!, G)!.some((p) => /spec\.blocks\.0\.cidr: must be string/.test(p)));
  t.deepEqual(
    validateObject({ apiVersion: 'cilium.io/v9', kind: 'CiliumLoadBalancerIPPool', metadata: { name: 'x' } }, G),
    ['CiliumLoadBalancerIPPool: version v9 is not served by the CRD (versions: v2, v2alpha1)'],
  );
});

test("Cilium values: the tutorial keys, the lab's lease settings, known to the chart", (t) => {
  const v = ciliumValues(lab, 50);
  t.like(v, {
    kubeProxyReplacement: true,
    k8sServiceHost: '198.18.0.11',
    k8sServicePort: 6443,
    gatewayAPI: { enabled: true },
    l2announcements: { enabled: true, leaseDuration: '15s', leaseRenewDeadline: '5s', leaseRetryPeriod: '2s' },
  });
  t.is((v.k8sClientRateLimit as { qps: number }).qps, 50, '50 services renewed every 2 s need 25 calls/s; twice that');
  t.deepEqual(validateCiliumValues(v), []);
  t.deepEqual(validateCiliumValues({ ...v, l2announcements: { enabled: 'yes' }, gatewayApi: { enabled: true } }), [
    'values.yaml: l2announcements.enabled: must be boolean',
    'values.yaml: gatewayApi: not a key of the Cilium chart (values.yaml)',
  ]);
});

test('kubeadm: no kube-proxy, API server and node IPs on the lab switch', (t) => {
  const r = renderCluster(lab);
  const [init, cluster] = parseAllDocuments(r.files['kubeadm-init.yaml']!).map((d) => d.toJS());
  t.deepEqual(init.skipPhases, ['addon/kube-proxy']);
  t.is(init.localAPIEndpoint.advertiseAddress, '198.18.0.11');
  t.is(cluster.kubernetesVersion, 'stable-1.34');
  t.is(cluster.controlPlaneEndpoint, '198.18.0.11:6443');
  t.regex(r.files['transcript.txt']!, /kubectl label node node01 datacenter=dc1/);
});

test('join secrets: workers get the token kubeadm init creates and the hash of the CA l2lab made', async (t) => {
  const name = `tsec${process.pid % 1000}`;
  try {
    const secrets = await ensureClusterSecrets(name);
    t.regex(secrets.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    // The hash, computed another way: sha256 of the certificate's SubjectPublicKeyInfo (DER).
    const spki = new X509Certificate(readFileSync(secrets.caCert)).publicKey.export({ type: 'spki', format: 'der' });
    t.is(secrets.caHash, `sha256:${createHash('sha256').update(spki).digest('hex')}`);
    t.true(new X509Certificate(readFileSync(secrets.caCert)).ca);
    t.deepEqual(await ensureClusterSecrets(name), secrets, 'made once per lab, then reused');
    const r = renderCluster(lab, secrets);
    const [init] = parseAllDocuments(r.files['kubeadm-init.yaml']!).map((d) => d.toJS());
    t.is(init.bootstrapTokens[0].token, secrets.token);
    const join1 = parse(r.files['kubeadm-join-node01.yaml']!);
    t.deepEqual(join1.discovery.bootstrapToken, {
      apiServerEndpoint: '198.18.0.11:6443',
      token: secrets.token,
      caCertHashes: [secrets.caHash],
    });
    t.false(/\{\{/.test(r.files['kubeadm-join-node01.yaml']!), 'no placeholders left');
  } finally {
    rmSync(stateDir(name), { recursive: true, force: true });
  }
});

test('the cluster and Cilium-subject playbooks load, and the cilium subject reads VIPs from the Gateway', (t) => {
  for (const name of ['cluster', 'cilium-subject']) t.notThrows(() => loadPlaybook(findPlaybook(name)), name);
  const s = loadSubject('cilium', lab.lease);
  t.is(s.addresses, 'gateway-status');
  t.like(s.version, { on: 'kubernetes' }); // where the lab's kubectl runs (kubernetes.on: the control plane by default)
  t.like(s.holder, { on: 'kubernetes' });
  t.regex(s.holder!.command, /get lease \{\{ lease \}\}/);
  t.false(s.has('graceful-release'), 'not claimed, so the graceful-stop trial is skipped, never passed');
});

test('cluster CLI: -e takes KEY=VALUE (mirrors of the package sources); a netns lab is refused for Kubernetes', async (t) => {
  const cli = (...args: string[]) =>
    execa('node', [join(repo, 'scripts/run.mjs'), 'cluster', ...args], { cwd: repo, reject: false });
  const bad = await cli('up', '--lab', 'lab.yaml', '-e', 'kubernetes_apt_url');
  t.is(bad.exitCode, 2);
  t.regex(bad.stderr, /-e takes KEY=VALUE, not "kubernetes_apt_url"/);
  const netnsLab = await cli('up', '--lab', 'lab.yaml', '-e', 'kubernetes_apt_url=http://mirror/');
  t.is(netnsLab.exitCode, 2);
  t.regex(netnsLab.stderr, /Kubernetes needs VMs/);
  t.regex((await cli('--help')).stdout, /kubernetes_apt_url, kubernetes_apt_key_url, cilium_cli_url/);
});

test("the app is the tutorial's: the Deployment real kubectl 1.35.2 generates from its command, scaled to 2", async (t) => {
  // `kubectl create deployment myapp --image=nginx:latest` (the tutorial), generated offline by the
  // real kubectl that `npm run setup` installs; l2lab adds only the replicas of the tutorial's
  // `kubectl scale --replicas 2` and the pod name written into index.html at start.
  const real = JSON.parse(
    (
      await execa(
        join(repo, '.tools', 'kubectl'),
        ['create', 'deployment', 'myapp', '--image=nginx:latest', '--dry-run=client', '-o', 'json'],
        { env: { KUBECONFIG: '/dev/null' } },
      )
    ).stdout,
  );
  const ours = tutorialObjects(lab).find((o) => o.kind === 'Deployment')! as any;
  t.is(ours.apiVersion, real.apiVersion);
  t.like(ours.metadata, real.metadata);
  t.deepEqual(ours.spec.selector, real.spec.selector);
  t.deepEqual(ours.spec.template.metadata.labels, real.spec.template.metadata.labels);
  const [c] = real.spec.template.spec.containers;
  t.like(ours.spec.template.spec.containers[0], { name: c.name, image: c.image });
  t.is(ours.spec.replicas, 2);
  // `kubectl expose deployment myapp --name myservice --port 80`: the deployment's selector, port 80 to 80.
  const svc = tutorialObjects(lab).find((o) => o.kind === 'Service')! as any;
  t.deepEqual(svc.spec.selector, real.spec.selector.matchLabels);
  t.like(svc.spec.ports[0], { port: 80, targetPort: 80, protocol: 'TCP' });
});

// The version table (playbooks/files/cilium/versions.yaml): each Cilium version with the Gateway
// API its operator needs, judged against what the vendored CRDs really serve; pre-releases are
// versions of their own; a pair that cannot work is refused before anything is installed.
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { loadLab } from '../../lab/labfile.ts';
import { renderCiliumChart, renderCluster } from '../../playbooks/cluster/render.ts';
import {
  bundleVersions,
  checkPairing,
  ciliumRow,
  defectsOf,
  gatewayApiFiles,
  knownCiliumVersions,
  upgradeProblem,
  withCilium,
} from '../../playbooks/cluster/versions.ts';
import { repo } from '../helpers.ts';

const lab = loadLab(join(repo, 'labs', 'cilium.yaml'));

test('every vendored chart has a row, and every row a vendored Gateway API whose CRDs it can work with', (t) => {
  t.deepEqual(knownCiliumVersions(), ['1.19.6', '1.20.0-pre.1', '1.20.0', '1.21.0-pre.0']);
  for (const v of knownCiliumVersions()) t.like(checkPairing(v, ciliumRow(v)!.gatewayAPI), { ok: true, known: true });
  t.is(ciliumRow('1.20.0')!.gatewayAPI, 'v1.6.1');
  t.is(ciliumRow('1.20.0-pre.1')!.gatewayAPI, 'v1.4.1', 'a pre-release is not its release');
});

test('served versions are read from the CRDs: v1.4.1 serves ReferenceGrant v1beta1 only, v1.5.1 lists TLSRoute v1alpha2 unserved', (t) => {
  const v14 = bundleVersions('v1.4.1'),
    v15 = bundleVersions('v1.5.1');
  t.like(v14.get('gateway.networking.k8s.io/v1beta1/referencegrants'), { served: true, kind: 'ReferenceGrant' });
  t.false(v14.has('gateway.networking.k8s.io/v1/referencegrants'));
  t.false(v14.has('gateway.networking.k8s.io/v1/tlsroutes'));
  t.like(v15.get('gateway.networking.k8s.io/v1alpha2/tlsroutes'), { served: false });
  t.like(v15.get('gateway.networking.k8s.io/v1/tlsroutes'), { served: true });
  t.true(gatewayApiFiles('v1.6.1').includes('standard/gateway.networking.k8s.io_udproutes.yaml'));
});

test('1.20.0 with v1.4.1 is refused, naming what is not served and the pair that works', (t) => {
  const p = checkPairing('1.20.0', 'v1.4.1');
  t.false(p.ok);
  t.regex(
    p.message,
    /needs gateway\.networking\.k8s\.io\/v1\/referencegrants, gateway\.networking\.k8s\.io\/v1\/tlsroutes served/,
  );
  t.regex(p.message, /Fix: use Gateway API v1\.6\.1 with Cilium 1\.20\.0/);
  // The same lab file, rendered: a problem before anything is installed.
  const r = renderCluster({ ...lab, versions: { ...lab.versions, cilium: '1.20.0', gatewayAPI: 'v1.4.1' } });
  t.true(r.problems.some((x) => /cannot work.*Fix: use Gateway API v1\.6\.1/.test(x)));
});

test('1.19 with v1.4.1 is not refused (its operator needs only what v1.4.1 serves); with v1.5+ it crash-loops', (t) => {
  t.like(checkPairing('1.19.6', 'v1.4.1'), { ok: true, known: true });
  const p = checkPairing('1.19.6', 'v1.6.1');
  t.false(p.ok);
  t.regex(
    p.message,
    /lists gateway\.networking\.k8s\.io\/v1alpha2\/tlsroutes without serving it.*crash-loops \(cilium\/cilium#45139\)/,
  );
  const r = renderCluster(withCilium(lab, '1.19.6'));
  t.deepEqual(r.problems, []);
  t.true(r.notes.some((n) => /not a known mismatch with Gateway\s+API v1\.4\.1/.test(n)));
});

test('unknown versions: a later patch takes its line row (assumed, said so); others must name their Gateway API', (t) => {
  t.like(ciliumRow('1.20.1'), { gatewayAPI: 'v1.6.1', assumedFrom: '1.20.0' });
  t.regex(checkPairing('1.20.1', 'v1.6.1').message, /assumed for later patches/);
  t.is(ciliumRow('1.19.1'), undefined, 'an earlier patch is not 1.19.6');
  t.is(ciliumRow('1.20.0-pre.3'), undefined);
  const r = renderCluster(withCilium({ ...lab, versions: { kubernetes: '1.34', cilium: '1.20.0' } }, '1.19.1'));
  t.true(r.problems.some((p) => /^versions\.gatewayAPI: Cilium 1\.19\.1 is not in l2lab's version table/.test(p)));
  t.like(checkPairing('1.19.1', 'v1.4.1'), { ok: true, known: false });
  t.like(checkPairing('1.20.0', 'v9.9.9'), { ok: false });
});

test('known defects by version: NDP fixes in 1.19.5/1.19.6 and 1.20.0; the tutorial pre-release has both defects', (t) => {
  const ids = (v: string) => defectsOf(v).map((d) => d.id);
  t.deepEqual(ids('1.20.0-pre.1'), ['ndp-na-flags', 'ndp-mld-join']);
  t.deepEqual(ids('1.19.5'), ['ndp-mld-join']);
  t.deepEqual(ids('1.19.6'), []);
  t.deepEqual(ids('1.20.0'), []);
  t.deepEqual(ids('1.21.0-pre.0'), []);
  t.deepEqual(ids('1.18.4'), ['ndp-na-flags', 'ndp-mld-join']);
  const r = renderCluster(withCilium(lab, '1.20.0-pre.1'));
  t.true(r.notes.some((n) => /cilium\/cilium#46079.*check gratuitous/.test(n)));
});

test('render and up take each version its own CRDs: 1.20.0 applies v1.6.1, the tutorial pair v1.4.1', (t) => {
  const r = renderCluster(lab);
  t.is(r.gatewayAPI, 'v1.6.1');
  t.regex(r.files['transcript.txt']!, /gateway-api-v1\.6\.1\/standard\/gateway\.networking\.k8s\.io_tlsroutes\.yaml/);
  t.deepEqual(r.problems, []);
  const tutorial = renderCluster(loadLab(join(repo, 'labs', 'tutorial.yaml')));
  t.is(tutorial.gatewayAPI, 'v1.4.1');
  t.regex(
    tutorial.files['transcript.txt']!,
    /gateway-api-v1\.4\.1\/experimental\/gateway\.networking\.k8s\.io_tlsroutes\.yaml/,
  );
  t.deepEqual(tutorial.problems, []);
});

test('an upgrade sequence that would take the CRDs back past the safe-upgrades policy is refused up front', async (t) => {
  const tutorial = loadLab(join(repo, 'labs', 'tutorial.yaml'));
  t.is(upgradeProblem(tutorial, ['1.20.0', '1.21.0-pre.0']), undefined);
  t.regex(upgradeProblem(lab, ['1.20.0-pre.1'])!, /refuses CRDs older than v1\.6\.0/);
  const cli = await execa(
    'node',
    [
      join(repo, 'scripts/run.mjs'),
      'conformance',
      '--lab',
      'labs/cilium.yaml',
      '--subject',
      'cilium',
      '--cilium-versions',
      '1.20.0-pre.1',
    ],
    { cwd: repo, reject: false },
  );
  t.is(cli.exitCode, 2);
  t.regex(
    cli.stderr,
    /--cilium-versions: Cilium 1\.20\.0-pre\.1 needs Gateway API v1\.4\.1, but an earlier step installs v1\.6\.1/,
  );
});

test('QPS and burst are sized from the services the pools can hold, and reach the rendered cilium-config', async (t) => {
  const r = renderCluster(lab);
  // labs/cilium.yaml: 10 IPv4 pool addresses, lease renewals every 2 s: 5 a second, twice that → 10 (the floor).
  t.deepEqual(r.values.k8sClientRateLimit, { qps: 10, burst: 20 });
  // labs/scale.yaml: 200 addresses → 100 renewals a second → 200 QPS, burst 400, in what the chart renders.
  const scale = await renderCiliumChart(
    loadLab(join(repo, 'labs', 'scale.yaml')),
    renderCluster(loadLab(join(repo, 'labs', 'scale.yaml'))),
  );
  t.deepEqual(scale.problems, []);
  const config = parseAllDocuments(scale.files['cilium-manifests.yaml']!)
    .map((d) => d.toJS())
    .find((d) => d?.kind === 'ConfigMap' && d.metadata.name === 'cilium-config').data;
  t.like(config, { 'k8s-client-qps': '200', 'k8s-client-burst': '400' });
});

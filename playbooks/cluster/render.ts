// Everything the cluster path applies,
// rendered from the lab file and checked offline — the tutorial's objects against the real CRD
// schemas, Cilium's values against its chart, the version pair against the known-bad table —
// plus a transcript of the commands it would run (the tutorial's, in order). Nothing is run.
import { stringify } from 'yaml';
import type { Lab } from '../../lab/types.ts';
import { ChartError, chartOf, chartVersions, configProblems, helmYaml, renderChart, wantedConfig } from './chart.ts';
import { checkCompat } from './compat.ts';
import { kubeadmInit, kubeadmJoin } from './kubeadm.ts';
import { tutorialObjects } from './manifests.ts';
import type { ClusterSecrets } from './secrets.ts';
import { validateCiliumValues, validateObject } from './validate.ts';
import { ciliumValues } from './values.ts';

export interface Rendered {
  files: Record<string, string>;
  /** Cilium's Helm values, as cilium-values.yaml has them. */
  values: Record<string, unknown>;
  problems: string[];
  notes: string[];
  transcript: string[];
}

/** With secrets, the join configurations are complete (else they keep placeholders: a dry run). */
export function renderCluster(lab: Lab, secrets?: Pick<ClusterSecrets, 'token' | 'caHash'>): Rendered {
  const objects = tutorialObjects(lab);
  const values = ciliumValues(lab);
  const problems: string[] = [],
    notes: string[] = [];
  for (const o of objects) {
    const p = validateObject(o);
    if (p === undefined)
      notes.push(`${o.kind} ${o.metadata.name}: built-in kind, not checked offline (no API server here)`);
    else problems.push(...p);
  }
  problems.push(...validateCiliumValues(values));
  const compat = checkCompat(lab.versions.cilium, lab.versions.gatewayAPI);
  (compat.ok ? notes : problems).push(compat.message);
  const files: Record<string, string> = {
    'kubeadm-init.yaml': kubeadmInit(lab, secrets?.token),
    ...Object.fromEntries(
      lab.nodes
        .filter((n) => n.role === 'worker')
        .map((n) => [
          `kubeadm-join-${n.name}.yaml`,
          secrets ? kubeadmJoin(lab, n, secrets.token, secrets.caHash) : kubeadmJoin(lab, n),
        ]),
    ),
    'cilium-values.yaml': helmYaml(values),
    'tutorial-objects.yaml': objects.map((o) => stringify(o)).join('---\n'),
  };
  const crds = [
    'standard/gateway.networking.k8s.io_gatewayclasses.yaml',
    'standard/gateway.networking.k8s.io_gateways.yaml',
    'standard/gateway.networking.k8s.io_grpcroutes.yaml',
    'standard/gateway.networking.k8s.io_httproutes.yaml',
    'standard/gateway.networking.k8s.io_referencegrants.yaml',
    'standard/gateway.networking.k8s.io_backendtlspolicies.yaml',
    'experimental/gateway.networking.k8s.io_tlsroutes.yaml',
  ];
  const cp = lab.nodes.find((n) => n.role === 'control-plane')!.name;
  const transcript = [
    `[${cp}] kubeadm init --config kubeadm-init.yaml            # skipPhases: addon/kube-proxy`,
    `[${cp}] kubectl -n kube-system delete ds kube-proxy --ignore-not-found; kubectl -n kube-system delete cm kube-proxy ` +
      `--ignore-not-found`,
    ...lab.nodes
      .filter((n) => n.role === 'worker')
      .map((n) => `[${n.name}] kubeadm join --config kubeadm-join-${n.name}.yaml`),
    ...lab.nodes
      .filter((n) => Object.keys(n.labels).length)
      .map(
        (n) =>
          `[${cp}] kubectl label node ${n.name} ${Object.entries(n.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')} --overwrite`,
      ),
    ...crds.map(
      (c) => `[${cp}] kubectl apply --server-side -f playbooks/files/gateway-api-${lab.versions.gatewayAPI}/${c}`,
    ),
    `[${cp}] cilium install -f cilium-values.yaml --version=${lab.versions.cilium}`,
    `[${cp}] cilium status --wait`,
    `[${cp}] kubectl apply --server-side -f tutorial-objects.yaml`,
    `[${cp}] kubectl -n kube-system wait gateway/central --for=condition=Programmed --timeout=300s`,
    `[${cp}] kubectl -n kube-system get gateway central -o jsonpath='{.status.addresses[0].value}'   # an address from ${lab.pool.name}`,
  ];
  files['transcript.txt'] = `${transcript.join('\n')}\n`;
  return { files, values, problems, notes, transcript };
}

/**
 * Cilium's own chart of the lab's version, rendered with the real helm (chart.ts): its manifests
 * go beside the values, and its cilium-config is held to what the lab needs. A version without a
 * vendored chart is a note (it is not checked), a helm error a problem in helm's own words.
 */
export async function renderCiliumChart(lab: Lab, r: Rendered): Promise<Rendered> {
  const version = lab.versions.cilium.replace(/^v/, '');
  if (!chartOf(version)) {
    r.notes.push(
      `Cilium ${version}: no vendored chart, so its rendering is not checked here (vendored: ${chartVersions().join(', ')})`,
    );
    return r;
  }
  try {
    const c = await renderChart(version, r.files['cilium-values.yaml']!);
    r.files['cilium-manifests.yaml'] = c.manifests;
    const rate = r.values.k8sClientRateLimit as { qps: number; burst: number };
    const problems = configProblems(c.config, wantedConfig(lab, rate), version);
    r.problems.push(...problems);
    if (!problems.length)
      r.notes.push(`Cilium ${version}'s chart (real helm) renders cilium-config with every key the lab needs`);
  } catch (e) {
    if (!(e instanceof ChartError)) throw e;
    r.problems.push(e.message);
  }
  return r;
}

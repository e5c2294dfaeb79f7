// Everything the cluster path applies, rendered from the lab file and checked offline — the
// tutorial's objects against the real CRD schemas of the Gateway API that goes with the Cilium
// version, Cilium's values against its own chart, the version pair against the version table
// (playbooks/files/cilium/versions.yaml) — plus a transcript of the commands it would run (the
// tutorial's, in order). Nothing is run.
import { stringify } from 'yaml';
import type { Lab } from '../../lab/types.ts';
import { ChartError, chartOf, chartVersions, configProblems, helmYaml, renderChart, wantedConfig } from './chart.ts';
import {
  CILIUM_CLI_VERSION,
  type CiliumSources,
  chartFlags,
  ciliumCliAdditions,
  imagePrefix,
  imageValues,
  mergeValues,
  withCliAdditions,
} from './cilium-cli.ts';
import { kubeadmInit, kubeadmJoin } from './kubeadm.ts';
import { tutorialObjects } from './manifests.ts';
import type { ClusterSecrets } from './secrets.ts';
import { validateCiliumValues, validateObject } from './validate.ts';
import { ciliumValues } from './values.ts';
import {
  checkPairing,
  ciliumRow,
  defectsOf,
  gatewayApiBundles,
  gatewayApiFiles,
  gatewayApiFor,
  servedApiVersions,
} from './versions.ts';

export interface Rendered {
  files: Record<string, string>;
  /** Cilium's Helm values, as cilium-values.yaml has them. */
  values: Record<string, unknown>;
  /** The Gateway API the cluster path installs (the lab file's, else the version table's pair); undefined: not known. */
  gatewayAPI: string | undefined;
  /** Where cilium-cli takes the chart and images from (-e); empty: upstream. */
  sources: CiliumSources;
  problems: string[];
  notes: string[];
  transcript: string[];
}

/** With secrets, the join configurations are complete (else they keep placeholders: a dry run). */
export function renderCluster(
  lab: Lab,
  secrets?: Pick<ClusterSecrets, 'token' | 'caHash'>,
  sources: CiliumSources = {},
): Rendered {
  const objects = tutorialObjects(lab);
  const values = sources.imageRegistry
    ? mergeValues(ciliumValues(lab), imageValues(sources.imageRegistry))
    : ciliumValues(lab);
  const problems: string[] = [],
    notes: string[] = [];
  const cilium = lab.versions.cilium.replace(/^v/, '');
  const gatewayAPI = gatewayApiFor(lab.versions);
  if (!gatewayAPI)
    problems.push(
      `versions.gatewayAPI: Cilium ${cilium} is not in l2lab's version table, so its Gateway API is not known: set ` +
        `versions.gatewayAPI in the lab file (vendored: ${gatewayApiBundles().join(', ')})`,
    );
  else {
    const pairing = checkPairing(cilium, gatewayAPI);
    (pairing.ok ? notes : problems).push(pairing.message);
    for (const o of objects) {
      const p = validateObject(o, gatewayAPI);
      if (p === undefined)
        notes.push(`${o.kind} ${o.metadata.name}: built-in kind, not checked offline (no API server here)`);
      else problems.push(...p);
    }
  }
  notes.push(...(ciliumRow(cilium)?.notes ?? []));
  for (const d of defectsOf(cilium))
    notes.push(
      `Cilium ${cilium} has a known defect (${d.issue}, fixed in ${d.fixedIn.join(' and ')}), which check ${d.check} catches: ${d.what}`,
    );
  // Each vendored chart carries its own values.schema.json, which helm applies (renderCiliumChart);
  // the 1.20.0-dev schema is only a fallback for a version without one.
  if (!chartOf(cilium)) problems.push(...validateCiliumValues(values));
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
    ...gatewayApiFiles(gatewayAPI ?? '').map(
      (c) => `[${cp}] kubectl apply --server-side -f playbooks/files/gateway-api-${gatewayAPI}/${c}`,
    ),
    `[${cp}] cilium install -f cilium-values.yaml --version=${lab.versions.cilium}${chartFlags(sources)
      .map((f) => ` ${f}`)
      .join('')}`,
    `[${cp}] cilium status --wait`,
    `[${cp}] kubectl apply --server-side -f tutorial-objects.yaml`,
    `[${cp}] kubectl -n kube-system wait gateway/central --for=condition=Programmed --timeout=300s`,
    `[${cp}] kubectl -n kube-system get gateway central -o jsonpath='{.status.addresses[0].value}'   # an address from ${lab.pool.name}`,
  ];
  files['transcript.txt'] = `${transcript.join('\n')}\n`;
  return { files, values, gatewayAPI, sources, problems, notes, transcript };
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
    // What `cilium install` renders: l2lab's values plus cilium-cli's additions, with the API versions
    // the cluster serves by then (the Gateway API CRDs go in first).
    const additions = ciliumCliAdditions(lab, r.values);
    const c = await renderChart(
      version,
      helmYaml(withCliAdditions(r.values, additions)),
      r.gatewayAPI ? servedApiVersions(r.gatewayAPI) : [],
    );
    r.files['cilium-manifests.yaml'] = c.manifests;
    r.notes.push(
      `cilium-cli ${CILIUM_CLI_VERSION} adds on install (rendered in cilium-manifests.yaml): ` +
        additions.map((a) => `${a.key}=${a.value} (${a.why})`).join('; '),
    );
    if (r.sources.imageRegistry) {
      const elsewhere = [...new Set([...c.manifests.matchAll(/^\s*image: "?([^"\s]+)"?$/gm)].map((m) => m[1]!))].filter(
        (i) => !i.startsWith(imagePrefix(r.sources.imageRegistry!)),
      );
      if (elsewhere.length)
        r.problems.push(
          `-e cilium_image_registry=${r.sources.imageRegistry}: the chart still pulls ${elsewhere.join(', ')} from elsewhere`,
        );
    }
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

// What cilium-cli does with l2lab's values before helm sees them, read from its source (cilium/cilium
// cilium-cli/install/helm.go getHelmValues, install/autodetect.go, internal/helm MergeVals; the
// playbook pins v0.18.9), so that the chart l2lab renders offline is the chart `cilium install`
// installs: for a kubeadm cluster (no special flavour) it adds operator.replicas 1, cluster.name from
// the kubeconfig's cluster (kubeadm's clusterName; `_` and `.` become `-`) and the tunnel datapath
// (routingMode tunnel, tunnelProtocol vxlan) unless the values set routingMode. The user's values
// win over these (MergeVals: "User-defined helm options will overwrite the default cilium-cli helm
// options"). It renders with the API versions the cluster serves, so the chart's
// `.Capabilities.APIVersions.Has` sees the Gateway API CRDs installed before it.
import type { Lab } from '../../lab/types.ts';
import { kubeadmClusterName } from './kubeadm.ts';

export const CILIUM_CLI_VERSION = 'v0.18.9';

export interface CliAddition {
  key: string;
  value: string | number;
  why: string;
}

/** The values cilium-cli adds on install, each with its reason; those the user's values set are left out. */
export function ciliumCliAdditions(lab: Pick<Lab, 'name'>, values: Record<string, unknown>): CliAddition[] {
  const has = (path: string) =>
    path
      .split('.')
      .reduce<unknown>(
        (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
        values,
      ) !== undefined;
  const tunnel = !has('routingMode');
  const all: CliAddition[] = [
    { key: 'operator.replicas', value: 1, why: 'cilium-cli sets one operator replica' },
    {
      key: 'cluster.name',
      value: kubeadmClusterName(lab).replace(/[_.]/g, '-'),
      why: "auto-detected from the kubeconfig's cluster (kubeadm's clusterName)",
    },
    ...(tunnel
      ? [
          {
            key: 'routingMode',
            value: 'tunnel',
            why: 'the datapath cilium-cli picks for a cluster of no special kind',
          },
          { key: 'tunnelProtocol', value: 'vxlan', why: 'with the tunnel datapath' },
        ]
      : []),
  ];
  return all.filter((a) => !has(a.key));
}

/** `b` merged into a copy of `a`, maps key by key (b wins), as Helm merges values. */
export function mergeValues(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(a);
  for (const [k, v] of Object.entries(b)) {
    const o = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && o && typeof o === 'object' && !Array.isArray(o)
        ? mergeValues(o as Record<string, unknown>, v as Record<string, unknown>)
        : structuredClone(v);
  }
  return out;
}

/** `values` with the additions put in (the user's values win, as in cilium-cli). */
export function withCliAdditions(values: Record<string, unknown>, additions: CliAddition[]): Record<string, unknown> {
  const added = additions.map(
    (a) => a.key.split('.').reduceRight<unknown>((inner, k) => ({ [k]: inner }), a.value) as Record<string, unknown>,
  );
  return mergeValues(added.reduce(mergeValues, {}), values);
}

/**
 * Where cilium-cli takes the chart and the images from (`-e` of `npm run cluster`): a Helm
 * repository (`--repository`, default https://helm.cilium.io, HTTP(S) or OCI) or a chart directory on
 * the control plane (`--chart-directory`), and an image registry that holds Cilium's images under
 * their upstream names (quay.io/cilium/<name>): the image repositories in the values point there.
 */
export interface CiliumSources {
  chartRepository?: string;
  chartDirectory?: string;
  imageRegistry?: string;
}

export function sourcesProblem(s: CiliumSources): string | undefined {
  if (s.chartRepository && s.chartDirectory)
    return '-e cilium_chart_repository and -e cilium_chart_directory: give one (a directory wins over a repository in cilium-cli)';
  if (s.chartRepository && !/^(https?|oci):\/\/\S+$/.test(s.chartRepository))
    return `-e cilium_chart_repository=${s.chartRepository}: an http(s):// or oci:// URL, e.g. http://mirror/cilium-charts`;
  if (s.chartDirectory && !s.chartDirectory.startsWith('/'))
    return `-e cilium_chart_directory=${s.chartDirectory}: an absolute path on the control plane, e.g. /srv/charts/cilium`;
  if (s.imageRegistry && !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/.test(s.imageRegistry))
    return `-e cilium_image_registry=${s.imageRegistry}: a registry host with an optional path, e.g. mirror.example:5000/cilium`;
  return undefined;
}

/** What every image from the registry starts with. */
export const imagePrefix = (registry: string) => `${registry.replace(/\/$/, '')}/`;

/** The image repositories of the chart's images that a lab runs (agent, operator, Envoy), at the registry. */
export function imageValues(registry: string): Record<string, unknown> {
  const at = (name: string) => `${imagePrefix(registry)}${name}`;
  return {
    image: { repository: at('cilium') },
    operator: { image: { repository: at('operator') } },
    envoy: { image: { repository: at('cilium-envoy') } },
  };
}

/** cilium-cli's flags for the chart's source. */
export const chartFlags = (s: CiliumSources): string[] => [
  ...(s.chartDirectory ? ['--chart-directory', s.chartDirectory] : []),
  ...(s.chartRepository ? ['--repository', s.chartRepository] : []),
];

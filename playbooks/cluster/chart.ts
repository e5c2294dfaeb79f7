// Cilium's released Helm charts, vendored unchanged (playbooks/files/cilium/charts/, sources and
// hashes in playbooks/files/SOURCES.md), rendered offline with the real helm that `npm run setup`
// installs (.tools/helm): helm 4 validates the values against each chart's own values.schema.json
// and runs its templates, so what the chart makes of l2lab's values is the chart's word, not ours.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from '../../lab/paths.ts';
import type { Lab } from '../../lab/types.ts';
import { announcedServicesMax, isDualStack, seconds } from './values.ts';

export const CHARTS_DIR = join(repoRoot, 'playbooks', 'files', 'cilium', 'charts');
export const HELM = join(repoRoot, '.tools', 'helm');

/** Semantic version order: 1.20.0-pre.1 before 1.20.0 (a pre-release comes before its release). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.replace(/^v/, '').split('-', 2) as [string, string | undefined];
    return { core: core.split('.').map(Number), pre };
  };
  const x = parse(a),
    y = parse(b);
  for (let i = 0; i < 3; i++) if ((x.core[i] ?? 0) !== (y.core[i] ?? 0)) return (x.core[i] ?? 0) - (y.core[i] ?? 0);
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, 'en', { numeric: true });
}

/** The Cilium versions whose chart is vendored, oldest first. */
export function chartVersions(): string[] {
  return readdirSync(CHARTS_DIR)
    .map((f) => /^cilium-(.+)\.tgz$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort(compareVersions);
}

/**
 * Values as YAML for helm and cilium-cli, which read YAML 1.1 (go-yaml): a plain yes, no, on or
 * off is a boolean there, so such strings are quoted.
 */
export const helmYaml = (values: unknown): string => stringify(values, { version: '1.1' });

export const chartOf = (version: string): string | undefined => {
  const f = join(CHARTS_DIR, `cilium-${version.replace(/^v/, '')}.tgz`);
  return existsSync(f) ? f : undefined;
};

export class ChartError extends Error {}

export interface ChartRender {
  /** Everything the chart renders, as helm template prints it. */
  manifests: string;
  /** The rendered ConfigMap cilium-config: what the agent and operator read. */
  config: Record<string, string>;
}

/**
 * `helm template cilium <chart> -n kube-system -f values.yaml [--api-versions G/V/Kind …]`; a helm error
 * (schema, a template's fail) comes back as helm's own words, with the version.
 */
export async function renderChart(
  version: string,
  valuesYaml: string,
  apiVersions: string[] = [],
): Promise<ChartRender> {
  const chart = chartOf(version);
  if (!chart) throw new ChartError(`no vendored chart for Cilium ${version}; vendored: ${chartVersions().join(', ')}`);
  if (!existsSync(HELM))
    throw new ChartError(`helm is not installed (${HELM}): run bash scripts/install.sh --with cluster`);
  const dir = mkdtempSync(join(tmpdir(), 'l2l-chart-'));
  try {
    writeFileSync(join(dir, 'values.yaml'), valuesYaml);
    const manifests = await new Promise<string>((resolve, reject) =>
      execFile(
        HELM,
        [
          'template',
          'cilium',
          chart,
          '--namespace',
          'kube-system',
          '-f',
          join(dir, 'values.yaml'),
          ...apiVersions.flatMap((a) => ['--api-versions', a]),
        ],
        { maxBuffer: 64 << 20, env: { PATH: process.env.PATH ?? '', HOME: dir } },
        (err, stdout, stderr) =>
          err
            ? reject(new ChartError(`helm template of Cilium ${version}: ${stderr.trim() || err.message}`))
            : resolve(stdout),
      ),
    );
    const cm = parseAllDocuments(manifests)
      .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> } | null)
      .find((d) => d?.kind === 'ConfigMap' && d.metadata?.name === 'cilium-config');
    if (!cm?.data) throw new ChartError(`Cilium ${version}'s chart rendered no ConfigMap cilium-config`);
    return { manifests, config: cm.data };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A key of the rendered cilium-config the lab needs, the value it needs, and the lab setting it comes from. */
export interface Wanted {
  key: string;
  value: string;
  from: string;
}

/** What the lab needs to find in the rendered cilium-config. */
export function wantedConfig(lab: Lab, rateLimit: { qps: number; burst: number }): Wanted[] {
  const dual = isDualStack(lab);
  return [
    { key: 'kube-proxy-replacement', value: 'true', from: "the tutorial's cluster has no kube-proxy" },
    { key: 'enable-l2-announcements', value: 'true', from: 'L2 announcements (the policy)' },
    { key: 'l2-announcements-lease-duration', value: seconds(lab.lease.durationMs), from: 'lease.duration' },
    { key: 'l2-announcements-renew-deadline', value: seconds(lab.lease.renewDeadlineMs), from: 'lease.renewDeadline' },
    { key: 'l2-announcements-retry-period', value: seconds(lab.lease.retryPeriodMs), from: 'lease.retryPeriod' },
    { key: 'enable-ipv6', value: String(dual), from: dual ? 'switch.ipv6 (dual-stack)' : 'no IPv6 on the switch' },
    { key: 'enable-gateway-api', value: 'true', from: "the tutorial's Gateway central" },
    {
      key: 'k8s-client-qps',
      value: String(rateLimit.qps),
      from: `lease renewals per second: ${announcedServicesMax(lab)} services (the pools' IPv4 addresses) ÷ lease.retryPeriod, twice`,
    },
    { key: 'k8s-client-burst', value: String(rateLimit.burst), from: 'twice the QPS' },
  ];
}

/** Every key the rendered config lacks or sets otherwise, each with the lab setting it comes from. */
export function configProblems(config: Record<string, string>, wanted: Wanted[], version: string): string[] {
  return wanted
    .filter((w) => config[w.key] !== w.value)
    .map(
      (w) =>
        `Cilium ${version}'s chart renders ${w.key}=${config[w.key] === undefined ? '(absent)' : JSON.stringify(config[w.key])}, the ` +
        `lab needs ${JSON.stringify(w.value)} (from ${w.from})`,
    );
}

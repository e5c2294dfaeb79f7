// The cluster path on a VM lab: render and check the configuration, make the join secrets, run
// playbooks/cluster.yaml. Used by `npm run cluster -- up|upgrade` and by the conformance suite's
// --cilium-versions (an upgrade in place before each run).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labPaths } from '../../lab/names.ts';
import { capabilitiesOf } from '../../lab/providers/catalog.ts';
import { getProvider } from '../../lab/providers/index.ts';
import { shq } from '../../lab/quote.ts';
import type { Lab } from '../../lab/types.ts';
import { inventoryFromStatus } from '../inventory.ts';
import type { RecapRow } from '../output.ts';
import { findPlaybook, loadPlaybook } from '../playbook.ts';
import { runPlaybook } from '../runner.ts';
import type { TaskRecord } from '../task.ts';
import { CILIUM_CLI_VERSION, type CiliumSources, chartFlags, sourcesProblem } from './cilium-cli.ts';
import { renderCiliumChart, renderCluster } from './render.ts';
import { ensureClusterSecrets } from './secrets.ts';
import { gatewayApiFiles, withCilium } from './versions.ts';

/** Bad input (lab, versions): exit 2. */
export class ClusterError extends Error {}

function report(r: ReturnType<typeof renderCluster>): void {
  for (const n of r.notes) console.log(`  note: ${n}`);
  for (const p of r.problems) console.log(`  PROBLEM: ${p}`);
}

export interface ClusterResult {
  /** No host failed or was unreachable. */
  ok: boolean;
  /** Per host: ok, changed, failed, … (a second run that changes nothing has changed 0 everywhere). */
  recap: RecapRow[];
  /** Every task on every host, with its duration: where the time went. */
  records: TaskRecord[];
}

/**
 * Where cilium-cli takes the chart and images from, from `-e` (cilium_chart_repository,
 * cilium_chart_directory, cilium_image_registry); bad values are a ClusterError (exit 2).
 */
export function ciliumSources(vars: Record<string, unknown>): CiliumSources {
  const str = (k: string) => (typeof vars[k] === 'string' && vars[k] ? (vars[k] as string) : undefined);
  const s: CiliumSources = {
    ...(str('cilium_chart_repository') ? { chartRepository: str('cilium_chart_repository')! } : {}),
    ...(str('cilium_chart_directory') ? { chartDirectory: str('cilium_chart_directory')! } : {}),
    ...(str('cilium_image_registry') ? { imageRegistry: str('cilium_image_registry')! } : {}),
  };
  const problem = sourcesProblem(s);
  if (problem) throw new ClusterError(problem);
  return s;
}

/** Renders into the lab's state directory with real join secrets, then runs the cluster playbook. */
export async function clusterUp(
  lab: Lab,
  opts: {
    check?: boolean;
    ciliumVersion?: string;
    tags?: string[];
    out?: { write(line: string): void };
    /** More playbook variables: where packages come from (kubernetes_apt_url, cilium_cli_url; see cluster.yaml). */
    vars?: Record<string, unknown>;
  } = {},
): Promise<ClusterResult> {
  if (!capabilitiesOf(lab.provider).ownKernel)
    throw new ClusterError(
      `lab ${lab.name} uses the ${lab.provider} provider, whose machines share this host's kernel: Kubernetes needs VMs. Use a lab file ` +
        `with provider: vagrant (labs/cilium.yaml)`,
    );
  const want = opts.ciliumVersion ? withCilium(lab, opts.ciliumVersion) : lab;
  const sources = ciliumSources(opts.vars ?? {});
  const secrets = await ensureClusterSecrets(lab.name);
  const r = await renderCiliumChart(want, renderCluster(want, secrets, sources));
  if (!opts.out) report(r);
  if (r.problems.length)
    throw new ClusterError(
      `the rendered cluster configuration has ${r.problems.length} problem(s) (above); fix the lab file`,
    );
  const dir = labPaths(lab.name).cluster;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, text] of Object.entries(r.files)) writeFileSync(join(dir, name), text, { mode: 0o600 });
  const status = await getProvider(lab.provider).status(lab, { probe: false });
  if (status.state === 'down')
    throw new ClusterError(`lab ${lab.name} is down; run l2lab lab up --lab ${lab.file} first`);
  const report2 = await runPlaybook(loadPlaybook(findPlaybook('cluster')), inventoryFromStatus(status), {
    check: opts.check,
    tags: opts.tags,
    ...(opts.out ? { out: opts.out } : {}),
    extraVars: {
      ...opts.vars,
      cluster_dir: dir,
      gateway_api_version: r.gatewayAPI,
      gateway_api_crds: gatewayApiFiles(r.gatewayAPI!),
      cilium_cli_version: CILIUM_CLI_VERSION,
      cilium_chart_flags: chartFlags(sources).map(shq).join(' '),
      kubeadm_token: secrets.token,
      ...(opts.ciliumVersion ? { cilium_version: opts.ciliumVersion } : {}),
    },
  });
  return { ok: !report2.recap.some((h) => h.failed || h.unreachable), recap: report2.recap, records: report2.records };
}

// Kubernetes for subjects that keep their state there (cilium): kubectl where the lab says
// (`kubernetes:` in the lab file) — on the lab's control plane with kubeadm's admin kubeconfig,
// on another node, or on the machine l2lab runs on with the user's kubeconfig.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { run } from '../lab/command.ts';
import { controlPlane } from '../lab/hosts.ts';
import { DEFAULT_KUBERNETES } from '../lab/labfile.ts';
import { repoRoot } from '../lab/paths.ts';
import type { ExecResult, Provider } from '../lab/provider.ts';
import { shq } from '../lab/quote.ts';
import type { KubernetesSettings, Lab } from '../lab/types.ts';

export class KubectlError extends Error {}

export const kubernetesOf = (lab: Lab): KubernetesSettings => lab.kubernetes ?? DEFAULT_KUBERNETES;

/** kubectl on this machine: the one on PATH (the user's, for their cluster), else l2lab's own (install.sh --with cluster). */
function localKubectl(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, 'kubectl'), constants.X_OK);
      return join(dir, 'kubectl');
    } catch {}
  }
  return join(repoRoot, '.tools', 'kubectl');
}

/** Where kubectl runs (a node's name; undefined: this machine) and its command line up to its arguments. */
export interface KubectlAt {
  host: string | undefined;
  argv: string[];
}

export function kubectlAt(lab: Lab): KubectlAt {
  const k = kubernetesOf(lab);
  if (k.on === 'local') return { host: undefined, argv: [localKubectl(), '--kubeconfig', k.kubeconfig] };
  return {
    host: k.on === 'control-plane' ? controlPlane(lab).name : k.on,
    argv: ['kubectl', '--kubeconfig', k.kubeconfig],
  };
}

/** The `{{ kubectl }}` of a subject's commands: kubectl and its kubeconfig, as shell words. */
export const kubectlWords = (at: KubectlAt): string => at.argv.map(shq).join(' ');

/** Where kubectl runs, for messages. */
export const kubectlPlace = (at: KubectlAt): string => at.host ?? 'this machine';

/**
 * A subject's `on: kubernetes` command, rendered with `{{ kubectl }}` and run where kubectl runs;
 * `where` names that place for messages.
 */
export async function onKubernetes(
  lab: Lab,
  provider: Provider,
  render: (kubectl: string) => string,
): Promise<ExecResult & { where: string }> {
  const at = kubectlAt(lab);
  const line = render(kubectlWords(at));
  const r = at.host
    ? await provider.exec(lab, at.host, ['sh', '-c', line])
    : await run(['sh', '-c', line], { check: false });
  return { ...r, where: kubectlPlace(at) };
}

export async function kubectl(lab: Lab, args: string[], provider: Provider): Promise<string> {
  const at = kubectlAt(lab);
  const full = [...at.argv, ...args];
  const r = at.host ? await provider.exec(lab, at.host, full) : await run(full, { check: false });
  if (r.exitCode !== 0)
    throw new KubectlError(
      `kubectl ${args.join(' ')} on ${kubectlPlace(at)} failed: ${(r.stderr || r.stdout).trim()} (is the cluster up? ` +
        `l2lab cluster up --lab ${lab.file}; on a cluster l2lab did not build, kubernetes: in the lab file says where kubectl runs)`,
    );
  return r.stdout;
}

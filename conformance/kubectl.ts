// Kubernetes on the control plane, with the cluster admin's kubeconfig (cilium subject).

import { controlPlane } from '../lab/hosts.ts';
import type { Provider } from '../lab/provider.ts';
import type { Lab } from '../lab/types.ts';

export class KubectlError extends Error {}

export async function kubectl(lab: Lab, args: string[], provider: Provider): Promise<string> {
  const cp = controlPlane(lab);
  const r = await provider.exec(lab, cp.name, ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', ...args]);
  if (r.exitCode !== 0)
    throw new KubectlError(
      `kubectl ${args.join(' ')} on ${cp.name} failed: ${(r.stderr || r.stdout).trim()} (is the cluster up? l2lab cluster up --lab ` +
        `${lab.file})`,
    );
  return r.stdout;
}

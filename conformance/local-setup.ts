// The local-traffic check's services, as a subject's install gets them (playbook variable
// `local`): a LoadBalancer service with externalTrafficPolicy Local whose backend the lab places
// (l2l-backend), and a Gateway whose class's config asks for Local.

import { controlPlane } from '../lab/hosts.ts';
import type { Provider } from '../lab/provider.ts';
import { matches } from '../lab/selector.ts';
import type { Lab } from '../lab/types.ts';

export const LOCAL_SERVICE = 'l2lab-local/local';
/** Gateway l2lab-local/local, of GatewayClass l2lab-local (CiliumGatewayClassConfig: externalTrafficPolicy Local). */
export const LOCAL_GATEWAY_SERVICE = 'l2lab-local/cilium-gateway-local';

/** Where the backend starts and comes back to: the last node the policy allows (not the first, which often holds the Gateway). */
export function localHome(lab: Lab): string | undefined {
  return lab.nodes.filter((n) => matches(lab.policy.nodeSelector, n.labels)).at(-1)?.name;
}

/** Puts the backends of `service` on exactly these nodes, where the lab keeps them (l2l-backend on the control plane). */
export async function placeBackend(lab: Lab, provider: Provider, service: string, nodes: string[]): Promise<void> {
  const cp = controlPlane(lab).name;
  const r = await provider.exec(lab, cp, ['/etc/l2lab/bin/l2l-backend', service, nodes.join(',') || '-'], {
    timeoutMs: 200_000,
  });
  if (r.exitCode !== 0)
    throw new Error(`l2l-backend ${service} ${nodes.join(',') || '-'} on ${cp}: ${(r.stderr || r.stdout).trim()}`);
}

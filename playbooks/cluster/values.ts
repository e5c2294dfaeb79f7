// Cilium's Helm values for the lab, as the tutorial sets them, plus what a lab needs.

import { switchNic } from '../../lab/hosts.ts';
import { ipv4Count } from '../../lab/pool.ts';
import type { Lab } from '../../lab/types.ts';
import { MANAGEMENT_INTERFACE, SWITCH_INTERFACE } from '../../lab/types.ts';
import { clusterSubnets } from './kubeadm.ts';

/** A duration as Cilium's Helm values and cilium-config spell it: 1500 → "1.5s". */
export const seconds = (ms: number) => `${ms / 1000}s`;

/** A dual-stack cluster: pods (and Cilium) get IPv6 too, where the lab switch has it. */
export const isDualStack = (lab: Lab): boolean => clusterSubnets(lab).pods.length > 1;

/**
 * The most services the lab's L2 policies can announce, each one a lease its holder renews: every
 * IPv4 address of the lab's pools (the main one and each domain's) can go to a service.
 */
export const announcedServicesMax = (lab: Lab): number =>
  Math.max(1, ipv4Count([...lab.pool.blocks, ...lab.domains.flatMap((d) => d.pool.blocks)]));

export function ciliumValues(lab: Lab, services = announcedServicesMax(lab)): Record<string, unknown> {
  const cp = lab.nodes.find((n) => n.role === 'control-plane');
  if (!cp) throw new Error('the lab has no control-plane node');
  const apiHost = switchNic(cp).ipv4;
  // Every lease renewal is an API call: size the client's rate limit for the services announced
  // (renewals per second = services / retryPeriod), with headroom for everything else.
  const renewalsPerSecond = Math.ceil(services / (lab.lease.retryPeriodMs / 1000));
  const qps = Math.max(10, renewalsPerSecond * 2);
  const dual = isDualStack(lab);
  return {
    kubeProxyReplacement: true,
    k8sServiceHost: apiHost,
    k8sServicePort: 6443,
    // Dual-stack: l2lab makes GatewayClass `cilium` itself, so that the Gateway's service gets
    // both families (manifests.ts); Cilium's own would make it IPv4-only.
    gatewayAPI: { enabled: true, ...(dual ? { gatewayClass: { create: 'false' } } : {}) },
    l2announcements: {
      enabled: true,
      leaseDuration: seconds(lab.lease.durationMs),
      leaseRenewDeadline: seconds(lab.lease.renewDeadlineMs),
      leaseRetryPeriod: seconds(lab.lease.retryPeriodMs),
    },
    devices: [MANAGEMENT_INTERFACE, SWITCH_INTERFACE],
    // Dual-stack: IPv6 on (Cilium ≥ 1.19 then answers NDP for IPv6 service addresses too: no
    // separate L2 key), pod addresses from the node's podCIDRs kubeadm's subnets give.
    ...(dual ? { ipv6: { enabled: true }, ipam: { mode: 'kubernetes' } } : {}),

    k8sClientRateLimit: { qps, burst: qps * 2 },
    operator: { replicas: 1 },
  };
}

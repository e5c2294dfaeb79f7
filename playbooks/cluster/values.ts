// Cilium's Helm values for the lab, as the tutorial sets them, plus what a lab needs.

import { switchNic } from '../../lab/state.ts';
import type { Lab } from '../../lab/types.ts';
import { MANAGEMENT_INTERFACE, SWITCH_INTERFACE } from '../../lab/types.ts';

const seconds = (ms: number) => `${ms / 1000}s`;

export function ciliumValues(lab: Lab, services = 1): Record<string, unknown> {
  const cp = lab.nodes.find((n) => n.role === 'control-plane');
  if (!cp) throw new Error('the lab has no control-plane node');
  const apiHost = switchNic(cp).ipv4;
  // Every lease renewal is an API call: size the client's rate limit for the services announced
  // (renewals per second = services / retryPeriod), with headroom for everything else.
  const renewalsPerSecond = Math.ceil(services / (lab.lease.retryPeriodMs / 1000));
  const qps = Math.max(10, renewalsPerSecond * 2);
  return {
    kubeProxyReplacement: true,
    k8sServiceHost: apiHost,
    k8sServicePort: 6443,
    gatewayAPI: { enabled: true },
    l2announcements: {
      enabled: true,
      leaseDuration: seconds(lab.lease.durationMs),
      leaseRenewDeadline: seconds(lab.lease.renewDeadlineMs),
      leaseRetryPeriod: seconds(lab.lease.retryPeriodMs),
    },
    devices: [MANAGEMENT_INTERFACE, SWITCH_INTERFACE],
    k8sClientRateLimit: { qps, burst: qps * 2 },
    operator: { replicas: 1 },
  };
}

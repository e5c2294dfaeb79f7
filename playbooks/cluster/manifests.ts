// The tutorial's Kubernetes objects, rendered from the lab file: the pool, the L2 policy,
// Gateway `central`, HTTPRoute `myroute`, the `myapp` deployment (pod name in index.html) and
// service `myservice`. Plain objects; the playbooks apply them, validate.ts checks them.
import type { Lab } from '../../lab/types.ts';
import { clusterSubnets } from './kubeadm.ts';
import { ciliumRow } from './versions.ts';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  [k: string]: unknown;
};

/** The tutorial's HTTPRoute hostname: the backend answers GET / for it and 404 for any other (the suite sends it). */
export const HOSTNAME = 'myservice.findichgut.net';

export function tutorialObjects(lab: Lab): K8sObject[] {
  // The pool's and policy's apiVersions of the lab's Cilium version (the version table), else the tutorial's.
  const row = ciliumRow(lab.versions.cilium);
  const pool: K8sObject = {
    apiVersion: row?.pool ?? 'cilium.io/v2',
    kind: 'CiliumLoadBalancerIPPool',
    metadata: { name: lab.pool.name },
    spec: {
      blocks: lab.pool.blocks,
      ...(lab.pool.serviceSelector ? { serviceSelector: lab.pool.serviceSelector } : {}),
    },
  };
  const policy: K8sObject = {
    apiVersion: row?.policy ?? 'cilium.io/v2alpha1',
    kind: 'CiliumL2AnnouncementPolicy',
    metadata: { name: lab.policy.name },
    spec: {
      ...(lab.policy.serviceSelector ? { serviceSelector: lab.policy.serviceSelector } : {}),
      ...(lab.policy.nodeSelector ? { nodeSelector: lab.policy.nodeSelector } : {}),
      interfaces: lab.policy.interfaces,
      externalIPs: lab.policy.externalIPs,
      loadBalancerIPs: lab.policy.loadBalancerIPs,
    },
  };
  // Dual-stack: GatewayClass `cilium` (the tutorial's name) with a CiliumGatewayClassConfig that
  // asks for both families, so that the pool gives the Gateway an IPv6 address as well.
  const dual = clusterSubnets(lab).pods.length > 1;
  const classConfig: K8sObject = {
    apiVersion: 'cilium.io/v2alpha1',
    kind: 'CiliumGatewayClassConfig',
    metadata: { name: 'dual-stack', namespace: 'kube-system' },
    spec: {
      description: 'l2lab: Gateway services of both families',
      service: { type: 'LoadBalancer', ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv4', 'IPv6'] },
    },
  };
  const gatewayClass: K8sObject = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GatewayClass',
    metadata: { name: 'cilium' },
    spec: {
      controllerName: 'io.cilium/gateway-controller',
      description: 'Cilium Gateway API (l2lab: dual-stack services)',
      parametersRef: {
        group: 'cilium.io',
        kind: 'CiliumGatewayClassConfig',
        name: 'dual-stack',
        namespace: 'kube-system',
      },
    },
  };
  const gateway: K8sObject = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'central', namespace: 'kube-system' },
    spec: {
      infrastructure: { labels: { ippool: 'l2announced' } },
      gatewayClassName: 'cilium',
      listeners: [
        { allowedRoutes: { namespaces: { from: 'All' } }, name: 'http-listener', port: 80, protocol: 'HTTP' },
      ],
    },
  };
  const route: K8sObject = {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'myroute', namespace: 'default' },
    spec: {
      hostnames: [HOSTNAME],
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'central', namespace: 'kube-system' }],
      rules: [
        {
          backendRefs: [{ group: '', kind: 'Service', name: 'myservice', port: 80, weight: 1 }],
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        },
      ],
    },
  };
  // The tutorial writes each pod's name into index.html by hand; the downward API does it at start.
  const app: K8sObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'myapp', namespace: 'default', labels: { app: 'myapp' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'myapp' } },
      template: {
        metadata: { labels: { app: 'myapp' } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx:latest',
              ports: [{ containerPort: 80 }],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              command: [
                '/bin/sh',
                '-c',
                'echo "pod/$POD_NAME" > /usr/share/nginx/html/index.html && exec nginx -g "daemon off;"',
              ],
            },
          ],
        },
      },
    },
  };
  const service: K8sObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'myservice', namespace: 'default', labels: { app: 'myapp' } },
    spec: { selector: { app: 'myapp' }, ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }] },
  };
  return [pool, policy, ...(dual ? [classConfig, gatewayClass] : []), gateway, route, app, service];
}

// kubeadm configuration for the lab (kubeadm.k8s.io/v1beta4): no kube-proxy (Cilium replaces
// it), the API server and every kubelet on the lab-switch address — with Vagrant the NAT NIC's
// address would otherwise become the node IP. Dual-stack where the lab switch has IPv6 (the
// tutorial's pool has an IPv6 block, and its checks are ARP and NDP): pod and service subnets of
// both families, node IPs of both families.
import { stringify } from 'yaml';
import { switchNic } from '../../lab/hosts.ts';
import type { Lab, LabHost } from '../../lab/types.ts';

const switchIp = (h: LabHost) => switchNic(h).ipv4;
/** The kubelet's --node-ip: both families on a dual-stack lab switch, IPv4 first (the primary family). */
const nodeIps = (h: LabHost) => [switchNic(h).ipv4, switchNic(h).ipv6].filter(Boolean).join(',');

/** Pod and service subnets: IPv4, plus IPv6 where the lab switch has it (/56 of pods: a /64 per node). */
export function clusterSubnets(lab: Lab): { pods: string[]; services: string[] } {
  const dual = lab.nodes.every((n) => switchNic(n).ipv6);
  return {
    pods: ['10.244.0.0/16', ...(dual ? ['fd00:10:244::/56'] : [])],
    // The API server refuses an IPv6 service range wider than /108.
    services: ['10.96.0.0/16', ...(dual ? ['fd00:10:96::/112'] : [])],
  };
}

export function kubeadmInit(lab: Lab, token?: string): string {
  const cp = lab.nodes.find((n) => n.role === 'control-plane');
  if (!cp) throw new Error('the lab has no control-plane node');
  const version = /^\d+\.\d+$/.test(lab.versions.kubernetes)
    ? `stable-${lab.versions.kubernetes}`
    : `v${lab.versions.kubernetes.replace(/^v/, '')}`;
  const init = {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'InitConfiguration',
    localAPIEndpoint: { advertiseAddress: switchIp(cp), bindPort: 6443 },
    nodeRegistration: { name: cp.name, kubeletExtraArgs: [{ name: 'node-ip', value: nodeIps(cp) }] },
    skipPhases: ['addon/kube-proxy'],
    // The workers' join token, made by l2lab (playbooks/cluster/secrets.ts), valid for a day.
    ...(token
      ? {
          bootstrapTokens: [
            {
              token,
              ttl: '24h0m0s',
              usages: ['signing', 'authentication'],
              groups: ['system:bootstrappers:kubeadm:default-node-token'],
            },
          ],
        }
      : {}),
  };
  const cluster = {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'ClusterConfiguration',
    kubernetesVersion: version,
    clusterName: kubeadmClusterName(lab),
    controlPlaneEndpoint: `${switchIp(cp)}:6443`,
    networking: {
      podSubnet: clusterSubnets(lab).pods.join(','),
      serviceSubnet: clusterSubnets(lab).services.join(','),
    },
  };
  const kubelet = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
  };
  return [init, cluster, kubelet].map((d) => stringify(d)).join('---\n');
}

export function kubeadmJoin(
  lab: Lab,
  node: LabHost,
  token = '{{ kubeadm_token }}',
  caHash = '{{ kubeadm_ca_hash }}',
): string {
  const cp = lab.nodes.find((n) => n.role === 'control-plane')!;
  return stringify({
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'JoinConfiguration',
    discovery: { bootstrapToken: { apiServerEndpoint: `${switchIp(cp)}:6443`, token, caCertHashes: [caHash] } },
    nodeRegistration: { name: node.name, kubeletExtraArgs: [{ name: 'node-ip', value: nodeIps(node) }] },
  });
}

/** kubeadm's clusterName: the kubeconfig's cluster, which cilium-cli reads as the Cilium cluster name. */
export const kubeadmClusterName = (lab: Pick<Lab, 'name'>) => `l2lab-${lab.name}`;

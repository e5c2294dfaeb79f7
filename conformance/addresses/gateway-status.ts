import { kubectl, kubernetesOf } from '../kubectl.ts';
import { AddressError, defineAddressSource, GATEWAY_LABELS } from './source.ts';

interface Gateway {
  status?: { addresses?: { value: string }[] };
  spec?: { infrastructure?: { labels?: Record<string, string> } };
}

export default defineAddressSource({
  name: 'gateway-status',
  description:
    "The Gateway's status.addresses (kubernetes.gateway; the tutorial's kube-system/central), as Cilium's IPAM assigned them, and " +
    "its service's labels (Kubernetes)",
  when: 'after-install',
  async find(lab, provider) {
    const { namespace, name } = kubernetesOf(lab).gateway;
    const gw = JSON.parse(
      await kubectl(lab, ['-n', namespace, 'get', 'gateway', name, '-o', 'json'], provider),
    ) as Gateway;
    const addrs = (gw.status?.addresses ?? []).map((x) => x.value);
    if (!addrs.length)
      throw new AddressError(
        `Gateway ${namespace}/${name} has no address yet (status.addresses is empty): is it PROGRAMMED? (kubectl -n ${namespace} get ` +
          `gateway ${name})`,
      );
    return [
      {
        // Cilium's service for a Gateway: cilium-gateway-<name>, in the Gateway's namespace.
        service: `${namespace}/cilium-gateway-${name}`,
        labels: gw.spec?.infrastructure?.labels ?? GATEWAY_LABELS,
        ipv4: addrs.find((x) => !x.includes(':')),
        ipv6: addrs.find((x) => x.includes(':')),
      },
    ];
  },
});

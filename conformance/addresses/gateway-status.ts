import { kubectl } from '../kubectl.ts';
import { AddressError, defineAddressSource, GATEWAY_LABELS, GATEWAY_SERVICE } from './source.ts';

interface Gateway {
  status?: { addresses?: { value: string }[] };
  spec?: { infrastructure?: { labels?: Record<string, string> } };
}

export default defineAddressSource({
  name: 'gateway-status',
  description:
    "Gateway central's status.addresses, as Cilium's IPAM assigned them, and its service's labels (Kubernetes)",
  when: 'after-install',
  async find(lab, provider) {
    const gw = JSON.parse(
      await kubectl(lab, ['-n', 'kube-system', 'get', 'gateway', 'central', '-o', 'json'], provider),
    ) as Gateway;
    const addrs = (gw.status?.addresses ?? []).map((x) => x.value);
    if (!addrs.length)
      throw new AddressError(
        'Gateway kube-system/central has no address yet (status.addresses is empty): is it PROGRAMMED? (kubectl -n kube-system get ' +
          'gateway central)',
      );
    return [
      {
        service: GATEWAY_SERVICE,
        labels: gw.spec?.infrastructure?.labels ?? GATEWAY_LABELS,
        ipv4: addrs.find((x) => !x.includes(':')),
        ipv6: addrs.find((x) => x.includes(':')),
      },
    ];
  },
});

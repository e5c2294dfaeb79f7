import { allocate } from '../../agent/ipam.ts';
import { AddressError, defineAddressSource, GATEWAY_LABELS, GATEWAY_SERVICE } from './source.ts';

export default defineAddressSource({
  name: 'pool-first',
  description:
    "the lab pool's first address of each family, for the Gateway's service (what a subject without IPAM is configured with)",
  when: 'before-install',
  async find(lab) {
    const pool = {
      name: lab.pool.name,
      blocks: lab.pool.blocks,
      serviceSelector: lab.pool.serviceSelector,
      allowFirstLastIPs: false,
      disabled: false,
    };
    const [namespace, name] = GATEWAY_SERVICE.split('/') as [string, string];
    const a = allocate([pool], [{ namespace, name, labels: GATEWAY_LABELS, loadBalancer: true, externalIPs: [] }], {});
    const g = a[GATEWAY_SERVICE];
    if (!g) throw new AddressError(`pool ${pool.name} has no address for the Gateway's service`);
    return [{ service: GATEWAY_SERVICE, labels: GATEWAY_LABELS, ipv4: g.ipv4, ipv6: g.ipv6 }];
  },
});

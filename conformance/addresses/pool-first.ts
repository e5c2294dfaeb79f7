import { matches } from '../../lab/selector.ts';
import { firstPoolAddress } from '../pool.ts';
import { AddressError, defineAddressSource, GATEWAY_LABELS, GATEWAY_SERVICE } from './source.ts';

export default defineAddressSource({
  name: 'pool-first',
  description:
    "the lab pool's first address of each family, for the Gateway's service (what a subject without IPAM is configured with)",
  when: 'before-install',
  async find(lab) {
    if (!matches(lab.pool.serviceSelector, GATEWAY_LABELS))
      throw new AddressError(
        `pool ${lab.pool.name}'s serviceSelector does not select the Gateway's service (labels ${JSON.stringify(GATEWAY_LABELS)})`,
      );
    const ipv4 = firstPoolAddress(lab, 4);
    const ipv6 = firstPoolAddress(lab, 6);
    if (!ipv4 && !ipv6) throw new AddressError(`pool ${lab.pool.name} has no address for the Gateway's service`);
    return [{ service: GATEWAY_SERVICE, labels: GATEWAY_LABELS, ipv4, ipv6 }];
  },
});

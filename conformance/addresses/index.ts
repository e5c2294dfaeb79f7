// Address sources: one file each; a new one is a file and a line here.
import etcdIpam from './etcd-ipam.ts';
import gatewayStatus from './gateway-status.ts';
import poolFirst from './pool-first.ts';
import { AddressError, type AddressSource } from './source.ts';

export {
  AddressError,
  type AddressSource,
  GATEWAY_LABELS,
  GATEWAY_SERVICE,
  mergeShared,
  type Vip,
} from './source.ts';

export const addressSources: AddressSource[] = [poolFirst, etcdIpam, gatewayStatus];
export const addressSourceNames = (): [string, ...string[]] =>
  addressSources.map((s) => s.name) as [string, ...string[]];

export function addressSource(name: string): AddressSource {
  const s = addressSources.find((x) => x.name === name);
  if (!s) throw new AddressError(`unknown address source "${name}"; sources: ${addressSourceNames().join(', ')}`);
  return s;
}

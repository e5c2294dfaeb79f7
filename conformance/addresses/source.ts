// Where a subject's VIPs come from is a strategy: one file each, listed in index.ts; a
// subject file names one (`addresses:`).
import type { Provider } from '../../lab/provider.ts';
import type { Lab } from '../../lab/types.ts';

export interface Vip {
  service: string;
  labels: Record<string, string>;
  ipv4?: string;
  ipv6?: string;
  /** Other services on exactly these addresses (LB-IPAM sharing key): one VIP, probed once. */
  shared?: string[];
  /** The further L2 domain (Lab.domains) whose pool it came from; absent: the lab switch's. */
  domain?: string;
}

/** One entry per address pair, the first service's, naming the services that share it. */
export function mergeShared(vips: Vip[]): Vip[] {
  const out: Vip[] = [];
  for (const v of vips) {
    const same = out.find((o) => o.ipv4 === v.ipv4 && o.ipv6 === v.ipv6);
    if (same) same.shared = [...(same.shared ?? []), v.service];
    else out.push({ ...v });
  }
  return out;
}

/** The tutorial's Gateway `central` in kube-system: Cilium names its service cilium-gateway-<name>. */
export const GATEWAY_SERVICE = 'kube-system/cilium-gateway-central';
/** Gateway `central`'s spec.infrastructure.labels, which the pool's serviceSelector selects. */
export const GATEWAY_LABELS = { ippool: 'l2announced' };

export class AddressError extends Error {}

export interface AddressSource {
  name: string;
  description: string;
  /**
   * before-install: the VIPs are known from the lab file alone, and the subject's install gets
   * them; after-install: read back from where the running subject keeps them.
   */
  when: 'before-install' | 'after-install';
  /** The VIPs, the Gateway's first. */
  find(lab: Lab, provider: Provider): Promise<Vip[]>;
}

export const defineAddressSource = (s: AddressSource): AddressSource => s;

// Addresses of the lab model that no lab file names: a machine's default IPv6 host part, and the
// conformance prober's own addresses on the switch subnets.
import { type Cidr, formatIp, nthAddress, parseCidr } from './ip.ts';
import type { Lab } from './types.ts';

/** Writes the default host part as hex digits that read like the decimal (::11 next to .11). */
export function defaultV6(subnet: Cidr, hostPart: number): string {
  return formatIp(6, subnet.network + BigInt(`0x${hostPart}`));
}

/**
 * Host parts 224-254 of the switch subnets are the conformance prober's own (never a node's, the
 * client's or the pool's): it sends each round of requests from the next of them, so that every
 * answer names its request by the address it is sent to. 31 rounds before one comes round again:
 * 150 ms at the fastest probe interval (5 ms), the answer timeout on real CPUs.
 */
export const PROBER_HOST_PARTS = { first: 224, last: 254 } as const;
export function proberAddresses(lab: Pick<Lab, 'switch'>): { ipv4: string[]; ipv6: string[] } {
  const v4 = parseCidr(lab.switch.ipv4) as Cidr,
    v6 = parseCidr(lab.switch.ipv6) as Cidr;
  const parts = Array.from(
    { length: PROBER_HOST_PARTS.last - PROBER_HOST_PARTS.first + 1 },
    (_, i) => PROBER_HOST_PARTS.first + i,
  );
  return { ipv4: parts.map((n) => nthAddress(v4, BigInt(n))), ipv6: parts.map((n) => defaultV6(v6, n)) };
}

/**
 * The prober's own MAC: the client's NIC's with the last octet fe, locally administered (a
 * machine l2lab did not build has a vendor's MAC; the prober must not pose as another vendor's).
 */
export function proberMac(clientMac: string): string {
  const b = clientMac.split(':');
  b[0] = (Number.parseInt(b[0]!, 16) | 0x02).toString(16).padStart(2, '0');
  b[5] = 'fe';
  return b.join(':');
}

/** A lab's prober addresses on its switch: a hosts file's own, else host parts 224-254. */
export const labProberAddresses = (lab: Pick<Lab, 'switch' | 'hosts'>): { ipv4: string[]; ipv6: string[] } =>
  lab.hosts?.prober ?? proberAddresses(lab);

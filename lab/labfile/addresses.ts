// A lab file's addresses checked and resolved: subnets, host addresses, MACs, pool blocks.
import { createHash } from 'node:crypto';
import { defaultV6 } from '../addresses.ts';
import { type Cidr, cidrRange, formatIp, inCidr, nthAddress, parseCidr, parseIp, type Range } from '../ip.ts';

export type Report = (path: string, message: string) => void;

export function macFor(lab: string, iface: number, index: number): string {
  const h = createHash('sha256').update(lab).digest();
  return ['02', '4c', h[0]!, h[1]!, iface, index]
    .map((b) => (typeof b === 'string' ? b : b.toString(16).padStart(2, '0')))
    .join(':');
}

export function checkedCidr(path: string, text: string, family: 4 | 6, report: Report): Cidr | undefined {
  const c = parseCidr(text);
  if (typeof c === 'string') {
    report(path, c);
    return undefined;
  }
  if (c.family !== family) {
    report(path, `${text} is IPv${c.family}; this field takes an IPv${family} subnet`);
    return undefined;
  }
  const room = (family === 4 ? 32 : 128) - c.prefix;
  if (room < 8) report(path, `/${c.prefix} is too small for a lab; use /24 or larger (IPv6: /64)`);
  return c;
}

export function hostAddress(
  path: string,
  explicit: string | undefined,
  subnet: Cidr | undefined,
  family: 4 | 6,
  hostPart: number,
  report: Report,
  used: Map<string, string>,
): string {
  if (!subnet) return explicit ?? '';
  let addr: string;
  if (explicit !== undefined) {
    const ip = parseIp(explicit);
    if (!ip || ip.family !== family) {
      report(path, `"${explicit}" is not an IPv${family} address`);
      return explicit;
    }
    addr = formatIp(family, ip.value);
  } else {
    addr = family === 4 ? nthAddress(subnet, BigInt(hostPart)) : defaultV6(subnet, hostPart);
  }
  const ip = parseIp(addr)!;
  const r = cidrRange(subnet);
  if (!inCidr(subnet, family, ip.value)) report(path, `${addr} is outside ${subnet.text}; set an address inside it`);
  else if (family === 4 && (ip.value === r.first || ip.value === r.last))
    report(path, `${addr} is the network or broadcast address of ${subnet.text}`);
  const owner = path.replace(/\.ipv[46]$/, '');
  const prev = used.get(addr);
  if (prev) report(path, `${addr} is also used by ${prev}; addresses must be unique`);
  else used.set(addr, owner);
  return addr;
}

export function describe(b: { cidr?: string; start?: string; stop?: string }): string {
  return b.cidr ?? `${b.start}-${b.stop}`;
}

export function blockRange(
  path: string,
  b: { cidr?: string; start?: string; stop?: string },
  report: Report,
): Range | undefined {
  if (b.cidr !== undefined) {
    if (b.start !== undefined || b.stop !== undefined) {
      report(path, 'give either cidr or start/stop, not both');
      return undefined;
    }
    const c = parseCidr(b.cidr);
    if (typeof c === 'string') {
      report(`${path}.cidr`, c);
      return undefined;
    }
    return cidrRange(c);
  }
  if (b.start === undefined || b.stop === undefined) {
    report(path, 'needs cidr, or both start and stop');
    return undefined;
  }
  const s = parseIp(b.start),
    e = parseIp(b.stop);
  if (!s) report(`${path}.start`, `"${b.start}" is not an IP address`);
  if (!e) report(`${path}.stop`, `"${b.stop}" is not an IP address`);
  if (!s || !e) return undefined;
  if (s.family !== e.family) {
    report(path, `start is IPv${s.family} and stop IPv${e.family}; use one family per block`);
    return undefined;
  }
  if (s.value > e.value) {
    report(path, `start ${b.start} comes after stop ${b.stop}; swap them`);
    return undefined;
  }
  return { family: s.family, first: s.value, last: e.value };
}

// ---- L2 domains ----------------------------------------------------------------------------

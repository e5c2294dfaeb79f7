// Small, exact IP helpers on bigint: parse, format, CIDR membership and ranges.
// Enough for lab files and pools; no dependency needed.
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Cidr {
  family: Family;
  network: bigint; // first address
  prefix: number;
  text: string; // canonical "addr/prefix"
}

export interface Range {
  family: Family;
  first: bigint;
  last: bigint;
}

const bits = (f: Family) => (f === 4 ? 32 : 128);

export function familyOf(text: string): Family | undefined {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return undefined;
}

export function parseIp(text: string): { family: Family; value: bigint } | undefined {
  if (isIPv4(text)) {
    const v = text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { family: 4, value: v };
  }
  if (!isIPv6(text) || text.includes('.') || text.includes('%')) return undefined;
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const v = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  return { family: 6, value: v };
}

export function formatIp(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (>1) of zero groups.
  let best = -1,
    bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Parses "addr/prefix"; with strict, host bits must be zero (a network, not an address). */
export function parseCidr(text: string, strict = true): Cidr | string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return `"${text}" is not a CIDR; write it as address/prefix, e.g. 198.18.0.0/24 or fd00::/64`;
  const ip = parseIp(m[1]!);
  if (!ip) return `"${m[1]}" is not an IPv4 or IPv6 address`;
  const prefix = Number(m[2]);
  if (prefix > bits(ip.family)) return `prefix /${prefix} is longer than ${bits(ip.family)} bits`;
  const mask = hostMask(ip.family, prefix);
  const network = ip.value & ~mask & fullMask(ip.family);
  if (strict && (ip.value & mask) !== 0n)
    return `"${text}" has host bits set; the network is ${formatIp(ip.family, network)}/${prefix}`;
  return { family: ip.family, network, prefix, text: `${formatIp(ip.family, network)}/${prefix}` };
}

const fullMask = (f: Family) => (1n << BigInt(bits(f))) - 1n;
const hostMask = (f: Family, prefix: number) => (1n << BigInt(bits(f) - prefix)) - 1n;

export function cidrRange(c: Cidr): Range {
  return { family: c.family, first: c.network, last: c.network | hostMask(c.family, c.prefix) };
}

export function inCidr(c: Cidr, family: Family, value: bigint): boolean {
  const r = cidrRange(c);
  return family === c.family && value >= r.first && value <= r.last;
}

export function overlaps(a: Range, b: Range): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** The address at offset n in the subnet (n = 0 is the network address). */
export function nthAddress(c: Cidr, n: bigint): string {
  return formatIp(c.family, c.network + n);
}

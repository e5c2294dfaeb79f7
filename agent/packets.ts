// ARP and IPv6 neighbour discovery frames: parse what the responder needs to answer, and build
// replies, gratuitous ARP and unsolicited neighbour advertisements. Pure functions on Buffers.
import { formatIp, parseIp } from '../lab/ip.ts';

export const ETH_ARP = 0x0806;
export const ETH_IPV6 = 0x86dd;
const ICMPV6 = 58;
export const ND_NS = 135;
export const ND_NA = 136;

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}
export function macString(b: Buffer): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
export function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}
export function ipv4String(b: Buffer): string {
  return [...b].join('.');
}
export function ipv6Bytes(ip: string): Buffer {
  const p = parseIp(ip);
  if (p?.family !== 6) throw new Error(`not an IPv6 address: ${ip}`);
  return Buffer.from(p.value.toString(16).padStart(32, '0'), 'hex');
}
export function ipv6String(b: Buffer): string {
  return formatIp(6, BigInt(`0x${b.toString('hex')}`));
}

export type Frame =
  | {
      kind: 'arp';
      op: number;
      srcMac: string;
      senderMac: string;
      senderIp: string;
      targetMac: string;
      targetIp: string;
    }
  | { kind: 'ns'; srcMac: string; srcIp: string; dstIp: string; target: string; sourceLinkAddr?: string }
  | {
      kind: 'na';
      srcMac: string;
      srcIp: string;
      target: string;
      solicited: boolean;
      override: boolean;
      targetLinkAddr?: string;
    };

/** Parses an Ethernet frame into the ARP/ND messages the announcer cares about; undefined otherwise. */
export function parseFrame(f: Buffer): Frame | undefined {
  if (f.length < 14) return undefined;
  const type = f.readUInt16BE(12);
  const srcMac = macString(f.subarray(6, 12));
  if (type === ETH_ARP && f.length >= 42) {
    if (f.readUInt16BE(14) !== 1 || f.readUInt16BE(16) !== 0x0800 || f[18] !== 6 || f[19] !== 4) return undefined;
    return {
      kind: 'arp',
      op: f.readUInt16BE(20),
      srcMac,
      senderMac: macString(f.subarray(22, 28)),
      senderIp: ipv4String(f.subarray(28, 32)),
      targetMac: macString(f.subarray(32, 38)),
      targetIp: ipv4String(f.subarray(38, 42)),
    };
  }
  if (type === ETH_IPV6 && f.length >= 14 + 40 + 24 && f[14 + 6] === ICMPV6) {
    const ip = 14,
      icmp = ip + 40;
    const t = f[icmp]!;
    if (t !== ND_NS && t !== ND_NA) return undefined;
    const srcIp = ipv6String(f.subarray(ip + 8, ip + 24));
    const dstIp = ipv6String(f.subarray(ip + 24, ip + 40));
    const target = ipv6String(f.subarray(icmp + 8, icmp + 24));
    let lla: string | undefined;
    for (let o = icmp + 24; o + 8 <= f.length; ) {
      const optType = f[o]!,
        optLen = f[o + 1]! * 8;
      if (optLen === 0) break;
      if ((optType === 1 || optType === 2) && optLen >= 8) lla = macString(f.subarray(o + 2, o + 8));
      o += optLen;
    }
    if (t === ND_NS) return { kind: 'ns', srcMac, srcIp, dstIp, target, sourceLinkAddr: lla };
    const flags = f[icmp + 4]!;
    return {
      kind: 'na',
      srcMac,
      srcIp,
      target,
      solicited: (flags & 0x40) !== 0,
      override: (flags & 0x20) !== 0,
      targetLinkAddr: lla,
    };
  }
  return undefined;
}

function ether(dst: string, src: string, type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  macBytes(dst).copy(h, 0);
  macBytes(src).copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

function arp(op: number, senderMac: string, senderIp: string, targetMac: string, targetIp: string): Buffer {
  const a = Buffer.alloc(28);
  a.writeUInt16BE(1, 0);
  a.writeUInt16BE(0x0800, 2);
  a[4] = 6;
  a[5] = 4;
  a.writeUInt16BE(op, 6);
  macBytes(senderMac).copy(a, 8);
  ipv4Bytes(senderIp).copy(a, 14);
  macBytes(targetMac).copy(a, 18);
  ipv4Bytes(targetIp).copy(a, 24);
  return a;
}

/** "VIP is at MAC", to the asker. */
export function arpReply(myMac: string, vip: string, askerMac: string, askerIp: string): Buffer {
  return ether(askerMac, myMac, ETH_ARP, arp(2, myMac, vip, askerMac, askerIp));
}

/** Gratuitous ARP (a broadcast request for our own address): neighbours update their caches. */
export function gratuitousArp(myMac: string, vip: string): Buffer {
  return ether('ff:ff:ff:ff:ff:ff', myMac, ETH_ARP, arp(1, myMac, vip, '00:00:00:00:00:00', vip));
}

function icmpv6Checksum(src: Buffer, dst: Buffer, icmp: Buffer): number {
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(icmp.length, 32);
  pseudo[39] = ICMPV6;
  let sum = 0;
  const add = (b: Buffer) => {
    for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) + (b[i + 1] ?? 0);
  };
  add(pseudo);
  add(icmp);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

function ipv6Packet(srcIp: string, dstIp: string, icmp: Buffer): Buffer {
  const src = ipv6Bytes(srcIp),
    dst = ipv6Bytes(dstIp);
  icmp.writeUInt16BE(0, 2);
  icmp.writeUInt16BE(icmpv6Checksum(src, dst, icmp), 2);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(icmp.length, 4);
  h[6] = ICMPV6;
  h[7] = 255; // ND messages must carry hop limit 255 (RFC 4861), or receivers drop them
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, icmp]);
}

/** What an unsolicited NA carries: both, as RFC 4861 §7.2.6 wants; less only for broken fixtures (Cilium before #46079). */
export interface NaShape {
  override: boolean;
  targetLinkAddr: boolean;
}
export const FULL_NA: NaShape = { override: true, targetLinkAddr: true };

function na(myMac: string, target: string, solicited: boolean, shape: NaShape = FULL_NA): Buffer {
  const m = Buffer.alloc(shape.targetLinkAddr ? 32 : 24);
  m[0] = ND_NA;
  m[4] = (solicited ? 0x40 : 0) | (shape.override ? 0x20 : 0); // S, O (override: we are the address's owner now)
  ipv6Bytes(target).copy(m, 8);
  if (shape.targetLinkAddr) {
    m[24] = 2;
    m[25] = 1; // option: target link-layer address, 8 bytes
    macBytes(myMac).copy(m, 26);
  }
  return m;
}

/** Solicited NA for the VIP, to the soliciting node (or all nodes when it asked from ::). */
export function neighborAdvert(myMac: string, vip: string, askerMac: string, askerIp: string): Buffer {
  const toAll = askerIp === '::';
  return ether(
    toAll ? '33:33:00:00:00:01' : askerMac,
    myMac,
    ETH_IPV6,
    ipv6Packet(vip, toAll ? 'ff02::1' : askerIp, na(myMac, vip, !toAll)),
  );
}

/** Unsolicited NA to all nodes (override set): IPv6's gratuitous ARP. */
export function unsolicitedNeighborAdvert(myMac: string, vip: string, shape: NaShape = FULL_NA): Buffer {
  return ether('33:33:00:00:00:01', myMac, ETH_IPV6, ipv6Packet(vip, 'ff02::1', na(myMac, vip, false, shape)));
}

/** Neighbour solicitation (for probers): to the solicited-node multicast address of the target. */
export function neighborSolicit(myMac: string, myIp: string, target: string): Buffer {
  const t = ipv6Bytes(target);
  const snm = `ff02::1:ff${t[13]!.toString(16).padStart(2, '0')}:${((t[14]! << 8) | t[15]!).toString(16)}`;
  const mcMac = `33:33:ff:${[t[13]!, t[14]!, t[15]!].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
  const m = Buffer.alloc(32);
  m[0] = ND_NS;
  t.copy(m, 8);
  m[24] = 1;
  m[25] = 1; // option: source link-layer address
  macBytes(myMac).copy(m, 26);
  return ether(mcMac, myMac, ETH_IPV6, ipv6Packet(myIp, snm, m));
}

/** ARP request (for probers). */
export function arpRequest(myMac: string, myIp: string, target: string): Buffer {
  return ether('ff:ff:ff:ff:ff:ff', myMac, ETH_ARP, arp(1, myMac, myIp, '00:00:00:00:00:00', target));
}

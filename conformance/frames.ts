// The suite's own Ethernet frames: the probes it sends (ARP request, RFC 826; neighbour
// solicitation, RFC 4861 §4.3) and what it reads back (ARP replies and gratuitous ARP, neighbour
// advertisements, RFC 4861 §4.4). Written apart from the reference announcer's packet code on
// purpose: a bug there must show up here as a failure, not cancel itself out.
import { formatIp, parseIp } from '../lab/ip.ts';

const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ICMPV6 = 58;
const VRRP = 112; // IP protocol number (RFC 5798 §5.1.1.4)
const VRRP_ADVERTISEMENT = 1;
const NEIGHBOR_SOLICITATION = 135;
const NEIGHBOR_ADVERTISEMENT = 136;
const OPTION_SOURCE_LINK_ADDRESS = 1;
const OPTION_TARGET_LINK_ADDRESS = 2;

export type Seen =
  | { kind: 'arp'; op: number; srcMac: string; dstMac: string; senderMac: string; senderIp: string; targetIp: string }
  /** A neighbour solicitation (the prober's own, seen on the way out): who asks (IPv6 source) for which target. */
  | { kind: 'ns'; srcMac: string; dstMac: string; src: string; target: string }
  /**
   * A neighbour advertisement: to whom (IPv6 destination), its flags (RFC 4861 §4.4: R, S, O),
   * and the target link-layer address option, if the message carries one.
   */
  | {
      kind: 'na';
      srcMac: string;
      dstMac: string;
      dst: string;
      target: string;
      router: boolean;
      solicited: boolean;
      override: boolean;
      targetLinkAddr?: string;
    }
  /** A VRRP advertisement (RFC 3768 v2, RFC 5798 v3): who sends it (IP source), for which addresses, how often. */
  | {
      kind: 'vrrp';
      srcMac: string;
      src: string;
      version: number;
      vrid: number;
      priority: number;
      intervalMs: number;
      addresses: string[];
    };

const mac = (b: Buffer, at: number) =>
  [...b.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');
const macBuf = (text: string) => Buffer.from(text.split(':').map((h) => Number.parseInt(h, 16)));

function ipBuf(text: string): Buffer {
  const p = parseIp(text);
  if (!p) throw new Error(`not an IP address: ${text}`);
  const n = p.family === 4 ? 4 : 16;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[n - 1 - i] = Number((p.value >> BigInt(8 * i)) & 255n);
  return out;
}

function ipText(b: Buffer): string {
  const v = [...b].reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  return formatIp(b.length === 4 ? 4 : 6, v);
}

/**
 * What a captured frame says, if it is ARP, neighbour discovery or VRRP; anything else is
 * undefined. `f` must be the frame as captured (its caplen), not a capture buffer it was copied into.
 */
export function readFrame(f: Buffer): Seen | undefined {
  if (f.length < 14) return undefined;
  let type = f.readUInt16BE(12);
  let off = 14;
  if (type === 0x8100 && f.length >= 18) {
    type = f.readUInt16BE(16); // one 802.1Q tag
    off = 18;
  }
  const srcMac = mac(f, 6);
  const dstMac = mac(f, 0);
  if (type === ETHERTYPE_ARP) {
    // htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4
    if (f.length < off + 28 || f.readUInt16BE(off) !== 1 || f.readUInt16BE(off + 2) !== 0x0800) return undefined;
    return {
      kind: 'arp',
      op: f.readUInt16BE(off + 6),
      srcMac,
      dstMac,
      senderMac: mac(f, off + 8),
      senderIp: ipText(f.subarray(off + 14, off + 18)),
      targetIp: ipText(f.subarray(off + 24, off + 28)),
    };
  }
  if (type === ETHERTYPE_IPV4) return readVrrp4(f, off, srcMac);
  if (type === ETHERTYPE_IPV6 && f.length >= off + 40 && f[off + 6] === VRRP)
    return readVrrp(f, off + 40, srcMac, ipText(f.subarray(off + 8, off + 24)), 16);
  if (type !== ETHERTYPE_IPV6 || f.length < off + 40 + 24) return undefined;
  if (f[off + 6] !== ICMPV6) return undefined; // no extension headers in ND
  const icmp = off + 40;
  const src = ipText(f.subarray(off + 8, off + 24));
  const dst = ipText(f.subarray(off + 24, off + 40));
  const target = ipText(f.subarray(icmp + 8, icmp + 24));
  if (f[icmp] === NEIGHBOR_SOLICITATION) return { kind: 'ns', srcMac, dstMac, src, target };
  if (f[icmp] !== NEIGHBOR_ADVERTISEMENT) return undefined;
  const flags = f[icmp + 4]!;
  let targetLinkAddr: string | undefined;
  // Options up to the end of what was captured, and no further: a reused capture buffer holds the
  // previous frame's bytes past it (node_pcap copies each frame into one buffer).
  for (let o = icmp + 24; o + 8 <= f.length; ) {
    const len = f[o + 1]! * 8;
    if (!len) break;
    if (f[o] === OPTION_TARGET_LINK_ADDRESS) targetLinkAddr = mac(f, o + 2);
    o += len;
  }
  return {
    kind: 'na',
    srcMac,
    dstMac,
    dst,
    target,
    router: (flags & 0x80) !== 0,
    solicited: (flags & 0x40) !== 0,
    override: (flags & 0x20) !== 0,
    targetLinkAddr,
  };
}

function readVrrp4(f: Buffer, off: number, srcMac: string): Seen | undefined {
  if (f.length < off + 20 || f[off]! >> 4 !== 4 || f[off + 9] !== VRRP) return undefined;
  return readVrrp(f, off + (f[off]! & 0x0f) * 4, srcMac, ipText(f.subarray(off + 12, off + 16)), 4);
}

/**
 * The VRRP header at `at`: version and type, VRID, priority, address count; then v3 has the
 * advertisement interval in centiseconds (12 bits), v2 in seconds (one byte, after the auth type).
 * CARP (ucarp) shares IP protocol 112 and looks like v2, but lists no addresses: callers match
 * the addresses against the VIPs.
 */
function readVrrp(f: Buffer, at: number, srcMac: string, src: string, size: 4 | 16): Seen | undefined {
  if (f.length < at + 8) return undefined;
  const version = f[at]! >> 4;
  if ((version !== 2 && version !== 3) || (f[at]! & 0x0f) !== VRRP_ADVERTISEMENT) return undefined;
  const count = f[at + 3]!;
  if (f.length < at + 8 + count * size) return undefined;
  const addresses = Array.from({ length: count }, (_, i) =>
    ipText(f.subarray(at + 8 + i * size, at + 8 + (i + 1) * size)),
  );
  const intervalMs = version === 3 ? (f.readUInt16BE(at + 4) & 0x0fff) * 10 : f[at + 5]! * 1000;
  return { kind: 'vrrp', srcMac, src, version, vrid: f[at + 1]!, priority: f[at + 2]!, intervalMs, addresses };
}

/** The EUI-64 link-local address of a MAC (RFC 4291 appendix A): how a node's NIC is named in IPv6 VRRP. */
export function linkLocalOf(macText: string): string {
  const b = macBuf(macText);
  b[0] = b[0]! ^ 0x02;
  const id = Buffer.concat([b.subarray(0, 3), Buffer.from([0xff, 0xfe]), b.subarray(3)]);
  return ipText(Buffer.concat([Buffer.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0]), id]));
}

/** An ARP request from (myMac, myIp) for target, broadcast. */
export function arpProbe(myMac: string, myIp: string, target: string): Buffer {
  const f = Buffer.alloc(42);
  Buffer.from('ffffffffffff', 'hex').copy(f, 0);
  macBuf(myMac).copy(f, 6);
  f.writeUInt16BE(ETHERTYPE_ARP, 12);
  f.writeUInt16BE(1, 14); // Ethernet
  f.writeUInt16BE(0x0800, 16); // IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // request
  macBuf(myMac).copy(f, 22);
  ipBuf(myIp).copy(f, 28);
  // target hardware address stays zero
  ipBuf(target).copy(f, 38);
  return f;
}

/** The internet checksum (RFC 1071) over an IPv6 pseudo-header and the ICMPv6 message. */
function icmpv6Checksum(src: Buffer, dst: Buffer, msg: Buffer): number {
  const pseudo = Buffer.alloc(40);
  src.copy(pseudo, 0);
  dst.copy(pseudo, 16);
  pseudo.writeUInt32BE(msg.length, 32);
  pseudo[39] = ICMPV6;
  const all = Buffer.concat([pseudo, msg, msg.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += all.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A neighbour solicitation from (myMac, myIp) for target, to target's solicited-node multicast group. */
export function nsProbe(myMac: string, myIp: string, target: string): Buffer {
  const t = ipBuf(target);
  // ff02::1:ffXX:XXXX, the low 24 bits of the target's address
  const group = Buffer.concat([Buffer.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]), t.subarray(13)]);
  const msg = Buffer.alloc(32);
  msg[0] = NEIGHBOR_SOLICITATION;
  t.copy(msg, 8);
  msg[24] = OPTION_SOURCE_LINK_ADDRESS;
  msg[25] = 1; // 8 bytes
  macBuf(myMac).copy(msg, 26);
  const src = ipBuf(myIp);
  msg.writeUInt16BE(icmpv6Checksum(src, group, msg), 2);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(msg.length, 4);
  ip[6] = ICMPV6;
  ip[7] = 255; // hop limit: ND requires 255
  src.copy(ip, 8);
  group.copy(ip, 24);
  const eth = Buffer.alloc(14);
  Buffer.from([0x33, 0x33, ...group.subarray(12)]).copy(eth, 0);
  macBuf(myMac).copy(eth, 6);
  eth.writeUInt16BE(ETHERTYPE_IPV6, 12);
  return Buffer.concat([eth, ip, msg]);
}

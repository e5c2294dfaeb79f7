// Reading the prober's .pcap files back (the classic libpcap format: a 24-byte file header, then
// per packet a 16-byte record header and the frame), and what each frame means on the timeline.
import { readFileSync } from 'node:fs';
import { readFrame } from '../conformance/frames.ts';

export interface Packet {
  /** µs since the epoch (the capture's own clock: the client's). */
  t: number;
  frame: Buffer;
}

export class PcapFileError extends Error {}

export function readPcap(path: string): Packet[] {
  const b = readFileSync(path);
  if (b.length < 24) throw new PcapFileError(`${path}: ${b.length} bytes, shorter than a pcap file header`);
  const magicLE = b.readUInt32LE(0);
  const le = magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d;
  const magic = le ? magicLE : b.readUInt32BE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d)
    throw new PcapFileError(`${path}: not a pcap file (magic 0x${magicLE.toString(16)})`);
  const nanos = magic === 0xa1b23c4d;
  const u32 = (at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  if (u32(20) !== 1) throw new PcapFileError(`${path}: link type ${u32(20)}, not Ethernet`);
  const out: Packet[] = [];
  // A capture cut short (the prober killed mid-write) ends in a partial record: keep what is whole.
  for (let at = 24; at + 16 <= b.length; ) {
    const len = u32(at + 8);
    if (at + 16 + len > b.length) break;
    const t = u32(at) * 1e6 + (nanos ? Math.floor(u32(at + 4) / 1000) : u32(at + 4));
    out.push({ t, frame: b.subarray(at + 16, at + 16 + len) });
    at += 16 + len;
  }
  return out;
}

export type Lane =
  | 'ARP request'
  | 'ARP reply'
  | 'gratuitous ARP'
  | 'NS'
  | 'NA'
  | 'unsolicited NA'
  | 'VRRP'
  | 'HTTP request'
  | 'HTTP response';
export const lanes: Lane[] = [
  'ARP request',
  'ARP reply',
  'gratuitous ARP',
  'NS',
  'NA',
  'unsolicited NA',
  'VRRP',
  'HTTP request',
  'HTTP response',
];

export interface TimelinePoint {
  t: number;
  lane: Lane;
  /** The frame's source MAC (who sent it). */
  mac: string;
}

const macAt = (f: Buffer, at: number) =>
  [...f.subarray(at, at + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

/** A frame as a point on the timeline, or undefined for what the timeline does not show. */
export function timelinePoint(p: Packet): TimelinePoint | undefined {
  const f = p.frame;
  const seen = readFrame(f);
  if (seen?.kind === 'arp') {
    // Gratuitous: the sender announces its own address (RFC 5227 §3), as a request or a reply.
    const lane: Lane = seen.senderIp === seen.targetIp ? 'gratuitous ARP' : seen.op === 1 ? 'ARP request' : 'ARP reply';
    return { t: p.t, lane, mac: seen.srcMac };
  }
  if (seen?.kind === 'na') return { t: p.t, lane: seen.solicited ? 'NA' : 'unsolicited NA', mac: seen.srcMac };
  if (seen?.kind === 'ns') return { t: p.t, lane: 'NS', mac: seen.srcMac };
  if (seen?.kind === 'vrrp') return { t: p.t, lane: 'VRRP', mac: seen.srcMac };
  // The suite's frame reader knows what it judges; the timeline also shows HTTP.
  if (f.length < 14) return undefined;
  let type = f.readUInt16BE(12);
  let off = 14;
  if (type === 0x8100 && f.length >= 18) {
    type = f.readUInt16BE(16);
    off = 18;
  }
  const src = macAt(f, 6);
  let tcp: number | undefined;
  if (type === 0x0800 && f.length >= off + 20 && f[off + 9] === 6) tcp = off + (f[off]! & 0x0f) * 4;
  if (type === 0x86dd && f.length >= off + 40 && f[off + 6] === 6) tcp = off + 40;
  if (tcp === undefined || f.length < tcp + 4) return undefined;
  if (f.readUInt16BE(tcp + 2) === 80) return { t: p.t, lane: 'HTTP request', mac: src };
  if (f.readUInt16BE(tcp) === 80) return { t: p.t, lane: 'HTTP response', mac: src };
  return undefined;
}

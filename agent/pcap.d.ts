// The parts of the `pcap` package (libpcap binding) that l2lab uses; its own types are partial.
declare module 'pcap' {
  import type { EventEmitter } from 'node:events';

  interface PacketWithHeader {
    buf: Buffer;
    header: Buffer;
    link_type: string;
  }
  class PcapSession extends EventEmitter {
    /**
     * is_live, device, BPF filter, buffer size, snap length, output .pcap file ('' for none), monitor mode, buffer timeout (≤0:
     * immediate mode), promiscuous.
     */
    constructor(
      isLive: boolean,
      device: string,
      filter?: string,
      bufferSize?: number,
      snapLength?: number,
      outfile?: string,
      isMonitor?: boolean,
      bufferTimeout?: number,
      promiscuous?: boolean,
    );
    on(event: 'packet', listener: (p: PacketWithHeader) => void): this;
    on(event: string, listener: (...a: unknown[]) => void): this;
    inject(frame: Buffer): void;
    close(): void;
    stats(): { ps_recv: number; ps_drop: number; ps_ifdrop: number };
  }
  const pcap: { PcapSession: typeof PcapSession };
  export default pcap;
  export { PacketWithHeader, PcapSession };
}

// A run folder's names: the folder itself (the moment it started) and the files in it, as reports/ and the suite spell them.

/** A moment as report folders are named: 20261203T140517Z (UTC, to the second). */
export function utcStamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Where a capture's events are saved: beside it, 001-power-off-1.pcap → 001-power-off-1.events.json. */
export const eventsFileOf = (pcapFile: string): string => pcapFile.replace(/\.pcap$/, '.events.json');

// A run folder's name: the moment it started, as reports/ and the suite spell it.

/** A moment as report folders are named: 20261203T140517Z (UTC, to the second). */
export function utcStamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

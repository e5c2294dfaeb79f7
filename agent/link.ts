// Carrier of an interface, polled from sysfs (cheap; 50 ms resolution), with change callbacks.
import { readFileSync } from 'node:fs';

export function hasCarrier(iface: string): boolean {
  try {
    return readFileSync(`/sys/class/net/${iface}/carrier`, 'utf8').trim() === '1';
  } catch {
    return false;
  } // reading fails while admin-down
}

export function watchCarrier(iface: string, onChange: (up: boolean) => void, everyMs = 50): () => void {
  let last = hasCarrier(iface);
  const t = setInterval(() => {
    const now = hasCarrier(iface);
    if (now !== last) {
      last = now;
      onChange(now);
    }
  }, everyMs);
  return () => clearInterval(t);
}

// Carrier of an interface, and the node's interfaces, polled from sysfs (cheap), with change callbacks.
import { readdirSync, readFileSync } from 'node:fs';

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

/** The node's interfaces, sorted (sysfs: every one the namespace has). */
export const nodeInterfaces = (): string[] => readdirSync('/sys/class/net').sort();

/** Calls onChange with the whole list whenever an interface appears or goes (a hot-plugged NIC, a VLAN created). */
export function watchInterfaces(onChange: (now: string[]) => void, everyMs = 100): () => void {
  let last = nodeInterfaces().join(' ');
  const t = setInterval(() => {
    const now = nodeInterfaces();
    if (now.join(' ') === last) return;
    last = now.join(' ');
    onChange(now);
  }, everyMs);
  return () => clearInterval(t);
}

// Facts gathered once per host per run, in one round trip.
import type { Connection } from './connection.ts';

export interface InterfaceFacts {
  mac: string;
  up: boolean;
  ipv4: string[];
  ipv6: string[];
}

export interface Facts {
  hostname: string;
  kernel: string;
  arch: string;
  os: { id: string; version: string; pretty: string };
  /** What PID 1 is, and so which service manager the service module drives. */
  init: string;
  service_mgr: 'systemd' | 'l2l-service';
  interfaces: Record<string, InterfaceFacts>;
}

const SCRIPT = [
  'hostname',
  'uname -r',
  'uname -m',
  'cat /proc/1/comm',
  '( . /etc/os-release; echo "$ID"; echo "$VERSION_ID"; echo "$PRETTY_NAME" )',
  'ip -j addr show 2>/dev/null || echo "[]"',
].join('; ');

export async function gatherFacts(conn: Connection): Promise<Facts> {
  const r = await conn.run(SCRIPT);
  if (r.rc !== 0) throw new Error(`gathering facts failed (rc ${r.rc}): ${r.stderr.trim()}`);
  const lines = r.stdout.split('\n');
  const [hostname = '', kernel = '', arch = '', init = '', id = '', version = '', pretty = ''] = lines;
  const addrs = JSON.parse(lines.slice(7).join('\n') || '[]') as {
    ifname: string;
    address?: string;
    flags: string[];
    addr_info: { family: string; local: string }[];
  }[];
  const interfaces: Record<string, InterfaceFacts> = {};
  for (const a of addrs)
    interfaces[a.ifname] = {
      mac: a.address ?? '',
      up: a.flags.includes('UP') && a.flags.includes('LOWER_UP'),
      ipv4: a.addr_info.filter((x) => x.family === 'inet').map((x) => x.local),
      ipv6: a.addr_info.filter((x) => x.family === 'inet6').map((x) => x.local),
    };
  return {
    hostname,
    kernel,
    arch,
    init,
    service_mgr: init === 'systemd' ? 'systemd' : 'l2l-service',
    os: { id, version, pretty },
    interfaces,
  };
}

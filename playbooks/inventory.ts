// The inventory: hosts with groups, SSH endpoints (pinned host keys) and host vars. From the
// lab's status (any provider), or from an inventory file of existing hosts (same shape).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { labPaths } from '../lab/names.ts';
import { repoRoot } from '../lab/paths.ts';
import { capabilitiesOf } from '../lab/providers/catalog.ts';
import { matches } from '../lab/selector.ts';
import type { SshEndpoint } from '../lab/ssh.ts';
import type { LabStatus } from '../lab/types.ts';
import { issueLines } from '../lab/validation.ts';

export interface InventoryHost {
  name: string;
  ssh: SshEndpoint;
  vars: Record<string, unknown>;
}

export interface Inventory {
  source: string;
  hosts: Record<string, InventoryHost>;
  groups: Record<string, string[]>; // "all" included
  /** Nodes share the host's packages and kernel (netns lab): apt runs once, on the controller. */
  sharedHost?: { lockFile: string };
}

export class InventoryError extends Error {}

const groupName = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');

export function inventoryFromStatus(s: LabStatus): Inventory {
  const hosts: Record<string, InventoryHost> = {};
  const groups: Record<string, string[]> = { all: [] };
  const caps = capabilitiesOf(s.provider);
  const add = (g: string, h: string) => {
    (groups[g] ??= []).push(h);
  };
  const lab = {
    name: s.lab,
    provider: s.provider,
    pool: s.pool,
    policy: s.policy,
    domains: s.domains ?? [], // a status written before domains existed has none
    lease: s.lease,
    versions: s.versions,
    switch: s.switch,
    management: s.management,
  };
  // The lab's client on the switch: the far side the VIPs serve (a fence heuristic pings it, as a
  // gateway on a real network).
  const client4 = s.client.interfaces.find((i) => i.network === 'switch')?.ipv4;
  s.nodes.forEach((n, index) => {
    if (!n.ssh) return;
    const eligible = matches(s.policy.nodeSelector, n.labels);
    const eth1 = n.interfaces.find((i) => i.network === 'switch');
    const eth0 = n.interfaces.find((i) => i.network === 'management');
    hosts[n.name] = {
      name: n.name,
      ssh: { name: n.name, ...n.ssh, identityFile: s.ssh.identityFile },
      vars: {
        l2lab_role: n.role,
        l2lab_labels: n.labels,
        l2lab_lab: lab,
        l2lab_index: index + 1,
        /** The L2 announcement policy's nodeSelector selects this node. */
        l2lab_eligible: eligible,
        l2lab_switch_interface: eth1?.name,
        l2lab_switch_ipv4: eth1?.ipv4,
        l2lab_switch_ipv6: eth1?.ipv6,
        l2lab_switch_mac: eth1?.mac,
        l2lab_client_switch_ipv4: client4,
        l2lab_management_interface: eth0?.name,
        l2lab_management_ipv4: eth0?.ipv4 ?? (caps.builtByL2lab ? undefined : n.ssh.host), // not built: where SSH reaches it
        // netns nodes see this checkout; the vagrant provider copies its runtime to the same path.
        ...(caps.checkoutOnMachines ? { l2lab_repo: repoRoot } : {}),
      },
    };
    add('all', n.name);
    add(n.role, n.name);
    if (n.role === 'control-plane') add('control_plane', n.name);
    if (n.role === 'worker') add('workers', n.name);
    for (const [k, v] of Object.entries(n.labels)) add(groupName(`${k}_${v}`), n.name);
    if (eligible) add('l2lab_eligible', n.name);
  });
  return {
    source: `lab ${s.lab}`,
    hosts,
    groups,
    ...(caps.sharedPackages ? { sharedHost: { lockFile: labPaths(s.lab).aptLock } } : {}),
  };
}

const fileSchema = z.strictObject({
  hosts: z.record(
    z.string(),
    z.strictObject({
      address: z.string(),
      port: z.number().int().default(22),
      user: z.string().default('root'),
      identityFile: z.string(),
      hostKey: z
        .string()
        .regex(
          /^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+$/,
          'a public host key such as "ssh-ed25519 AAAA…" (ssh-keyscan, then check it)',
        ),
      vars: z.record(z.string(), z.unknown()).default({}),
    }),
  ),
  groups: z.record(z.string(), z.array(z.string())).default({}),
});

/** An inventory file for existing hosts (the ssh provider). */
export function inventoryFromFile(file: string): Inventory {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InventoryError(
      `--inventory ${file}: cannot read it (${(e as NodeJS.ErrnoException).code}); give an inventory file`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new InventoryError(`${file}: not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const raw = fileSchema.safeParse(doc);
  if (!raw.success) throw new InventoryError(`${file}: ${issueLines(raw.error).join('; ')}`);
  const hosts: Record<string, InventoryHost> = {};
  for (const [name, h] of Object.entries(raw.data.hosts))
    hosts[name] = {
      name,
      ssh: { name, host: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.hostKey },
      vars: h.vars,
    };
  const groups: Record<string, string[]> = { ...raw.data.groups, all: Object.keys(hosts) };
  for (const [g, members] of Object.entries(groups))
    for (const m of members)
      if (!hosts[m])
        throw new InventoryError(`${file}: groups.${g}: no host "${m}" (hosts: ${Object.keys(hosts).join(', ')})`);
  return { source: file, hosts, groups };
}

/**
 * Host patterns, as Ansible: "all", a group, a host, globs with *, joined by ',' or ':';
 * "!x" excludes, "&x" intersects. Returns hosts in inventory order.
 */
export function selectHosts(inv: Inventory, pattern: string): string[] {
  const order = Object.keys(inv.hosts);
  const resolve = (term: string): Set<string> => {
    if (inv.groups[term]) return new Set(inv.groups[term]);
    if (inv.hosts[term]) return new Set([term]);
    // group[N]: one host of a group by position, as Ansible's subscripts.
    const sub = /^(.+)\[(\d+)\]$/.exec(term);
    if (sub && inv.groups[sub[1]!]) {
      const h = inv.groups[sub[1]!]![Number(sub[2])];
      if (!h) throw new Error(`host pattern "${term}": group ${sub[1]} has ${inv.groups[sub[1]!]!.length} hosts`);
      return new Set([h]);
    }
    if (term.includes('*')) {
      const re = new RegExp(
        `^${term
          .split('*')
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      return new Set([
        ...order.filter((h) => re.test(h)),
        ...Object.keys(inv.groups)
          .filter((g) => re.test(g))
          .flatMap((g) => inv.groups[g]!),
      ]);
    }
    throw new Error(
      `host pattern "${term}" matches no host or group (groups: ${Object.keys(inv.groups).join(', ')}; hosts: ${order.join(', ')})`,
    );
  };
  let picked = new Set<string>();
  const terms = pattern
    .split(/[,:]/)
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of terms.filter((x) => !x.startsWith('!') && !x.startsWith('&')))
    for (const h of resolve(t)) picked.add(h);
  for (const t of terms.filter((x) => x.startsWith('&'))) {
    const keep = resolve(t.slice(1));
    picked = new Set([...picked].filter((h) => keep.has(h)));
  }
  for (const t of terms.filter((x) => x.startsWith('!'))) for (const h of resolve(t.slice(1))) picked.delete(h);
  return order.filter((h) => picked.has(h));
}

// The lab file's raw shape: a strict zod schema, its limits, and its problems as paths with a fix.
import { z } from 'zod';
import { hostsSchema } from '../providers/hosts/config.ts';
import { vagrantSchema, vmSchema } from '../providers/vagrant/config.ts';
import { selectorSchema } from '../selector.ts';
import { formatPath, issueMessage } from '../validation.ts';

// Link names on the host are "l2l-<lab>-m<NN>" and must fit Linux's 15-character limit.
export const LAB_NAME_MAX = 7;
export const NODE_NAME_MAX = 15;
export const MAX_NODES = 99;

const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m)$/, 'a duration such as "15s", "500ms" or "1m"');
const labels = z.record(
  z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/, 'a Kubernetes label key'),
  z.string().max(63),
);

const hostSchema = z.strictObject({
  name: z.string(),
  role: z.enum(['control-plane', 'worker']).default('worker'),
  labels: labels.default({}),
  ipv4: z.string().optional(),
  ipv6: z.string().optional(),
  mac: z
    .string()
    .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'a lower-case MAC such as 02:4c:00:00:01:01')
    .optional(),
  vm: vmSchema.optional(),
});

const blockSchema = z.strictObject({
  cidr: z.string().optional(),
  start: z.string().optional(),
  stop: z.string().optional(),
});

const domainSchema = z.strictObject({
  name: z.string(),
  /** A tagged VLAN on the lab switch (NIC eth1.<vlan>) … */
  vlan: z.number().int().optional(),
  /** … or a switch of its own (NIC eth2, eth3, … in file order). */
  switch: z.boolean().optional(),
  ipv4: z.string(),
  ipv6: z.string(),
  /** The nodes on it (default: every node); the client is on every domain. */
  nodes: z.array(z.string()).optional(),
  /**
   * Nodes whose NIC here carries fewer addresses: ipv6 (no IPv4 address) or none (link-local
   * only), as an interface made only to carry VIPs (cilium/cilium #41641); default both.
   */
  nodeAddresses: z.record(z.string(), z.enum(['both', 'ipv6', 'none'])).optional(),
  pool: z.strictObject({
    name: z.string().optional(),
    blocks: z.array(blockSchema).min(1),
    serviceSelector: selectorSchema.optional(),
  }),
  policy: z
    .strictObject({
      name: z.string().optional(),
      interfaces: z.array(z.string()).min(1).optional(),
      nodeSelector: selectorSchema.optional(),
      serviceSelector: selectorSchema.optional(),
      loadBalancerIPs: z.boolean().default(true),
      externalIPs: z.boolean().default(false),
    })
    .default({ loadBalancerIPs: true, externalIPs: false }),
});

export const labFileSchema = z.strictObject({
  name: z.string(),
  provider: z.string().default('netns'),
  switch: z.strictObject({
    ipv4: z.string(),
    ipv6: z.string(),
    /**
     * The lab switch snoops MLD/IGMP (with a querier), as Proxmox's bridges and many real switches
     * do: a neighbour solicitation reaches only the ports that joined its solicited-node group.
     */
    multicastSnooping: z.boolean().default(false),
    /**
     * The hosts' lab NICs (the switch's and the domains') run IPv6 duplicate address detection, as
     * a real host does (accept_dad 1): an address is unusable until it is found unique (1-2 s).
     */
    dad: z.boolean().default(false),
    /**
     * Seconds the switch keeps a MAC it learned without seeing a frame from it (Linux bridge
     * ageing_time; real switches often 300, some far less). Unset: the bridge's 300.
     */
    ageingTime: z.number().int().min(1).max(1_000_000).optional(),
    /** What the switch does with a frame for a MAC it does not know: flood it to every port, or drop it (per-port flood off). */
    unknownUnicast: z.enum(['flood', 'drop']).default('flood'),
  }),
  management: z.strictObject({ ipv4: z.string().default('198.19.0.0/24') }).default({ ipv4: '198.19.0.0/24' }),
  nodes: z.array(hostSchema).min(1),
  client: z
    .strictObject({
      name: z.string().default('client'),
      ipv4: z.string().optional(),
      ipv6: z.string().optional(),
      mac: hostSchema.shape.mac,
      vm: vmSchema.optional(),
      /** A management NIC and sshd on a netns lab's client too (VM clients always have them): to reach it over SSH. */
      management: z.boolean().optional(),
    })
    .default({ name: 'client' }),
  pool: z.strictObject({
    name: z.string().default('lb-ip-pool'),
    blocks: z.array(blockSchema).min(1),
    serviceSelector: selectorSchema.optional(),
  }),
  policy: z.strictObject({
    name: z.string().default('l2announced-services'),
    interfaces: z.array(z.string()).min(1),
    nodeSelector: selectorSchema.optional(),
    serviceSelector: selectorSchema.optional(),
    loadBalancerIPs: z.boolean().default(true),
    externalIPs: z.boolean().default(false),
  }),
  /** Further L2 domains: VLANs on the lab switch, or switches of their own, each with a pool and a policy. */
  domains: z.array(domainSchema).default([]),
  versions: z
    .strictObject({
      kubernetes: z.string().default('1.34'),
      cilium: z.string().default('1.20.0'),
      /** Unset: the pair from Cilium's row in playbooks/files/cilium/versions.yaml. */
      gatewayAPI: z.string().optional(),
    })
    .default({ kubernetes: '1.34', cilium: '1.20.0' }),
  vagrant: vagrantSchema, // the vagrant provider's own settings (lab/providers/vagrant/config.ts)
  hosts: hostsSchema, // the hosts provider's (lab/providers/hosts/config.ts)
  /**
   * Where the suite's kubectl runs and what it reads (subjects on Kubernetes, such as cilium): on
   * the lab's control plane with kubeadm's admin kubeconfig, unless a cluster l2lab did not build
   * keeps them elsewhere.
   */
  kubernetes: z
    .strictObject({
      /** control-plane (the lab's first), a node's name, or local (the machine l2lab runs on). */
      on: z.string().min(1).default('control-plane'),
      /** On that machine; with on: local, relative to the lab file (~ is the home directory). */
      kubeconfig: z.string().min(1).default('/etc/kubernetes/admin.conf'),
      /** The Gateway whose address is measured, NAMESPACE/NAME. */
      gateway: z
        .string()
        .regex(
          /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/,
          'NAMESPACE/NAME, such as kube-system/central',
        )
        .default('kube-system/central'),
    })
    .prefault({}),
  lease: z
    .strictObject({
      duration: duration.default('15s'),
      renewDeadline: duration.default('5s'),
      retryPeriod: duration.default('2s'),
    })
    .default({ duration: '15s', renewDeadline: '5s', retryPeriod: '2s' }),
});

export type LabFile = z.infer<typeof labFileSchema>;

export interface LabProblem {
  path: string;
  message: string;
}

export class LabFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: LabProblem[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p.path || '(top)'}: ${p.message}`).join('\n'),
    );
    this.name = 'LabFileError';
  }
}

export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text)!;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2] as 'ms' | 's' | 'm']);
}

/** Valid keys of the object schema at a path, to tell the user what an unknown key could have been. */
function keysAt(path: readonly PropertyKey[]): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: walks zod's internal schema tree, which zod does not type
  let s: any = labFileSchema;
  const unwrap = () => {
    while (s?._zod?.def?.innerType) s = s._zod.def.innerType;
  };
  unwrap();
  for (const p of path) {
    if (typeof p === 'number') s = s?._zod?.def?.element;
    else s = s?.shape?.[p];
    unwrap();
  }
  return s?.shape ? Object.keys(s.shape) : [];
}

export function zodProblems(error: z.ZodError): LabProblem[] {
  return error.issues.map((i) => ({
    path: formatPath(i.path),
    message: issueMessage(i, i.code === 'unrecognized_keys' ? keysAt(i.path) : []),
  }));
}

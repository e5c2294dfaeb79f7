// The announcer's configuration file (YAML), rendered per node by the announcer playbook.
// Bad files are refused with the field and the file named.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { issueLines } from '../lab/validation.ts';

const ms = z.number().int().positive();

export const configSchema = z
  .strictObject({
    node: z.string().min(1),
    /** The labels the node registers with in the store (as the kubelet's --node-labels). */
    labels: z.record(z.string(), z.string()).default({}),
    /** false: these labels only, never the store's (a node blind to relabelling; suite self-test). */
    watchLabels: z.boolean().default(true),
    /** address: one lease per address, shared by the services on it; service: one per service (Cilium #48419; suite self-test). */
    electPer: z.enum(['address', 'service']).default('address'),
    /** externalTrafficPolicy Local: announce only where a backend runs; false: anywhere, as Cilium before #46399 (suite self-test). */
    localBackendsOnly: z.boolean().default(true),
    /**
     * A Gateway's backends: envoy (on every node); endpoints: its service's, which name no node, so a Local Gateway goes
     * unannounced (Cilium #48799; suite self-test).
     */
    gatewayBackends: z.enum(['envoy', 'endpoints']).default('envoy'),
    /**
     * Watch the node's interfaces and announce on one the policy selects as soon as it appears (a
     * VLAN or NIC added after the start); false: only those present at start, until a restart (the
     * symptom of Cilium #45719; suite self-test).
     */
    watchInterfaces: z.boolean().default(true),
    store: z.strictObject({
      etcd: z
        .array(z.string().regex(/^https?:\/\/[^/]+$/, 'an etcd client URL such as http://198.19.0.11:2379'))
        .min(1),
      /**
       * The lease client's rate limit (calls per second, and the burst above it), as Cilium's kube
       * client's k8sClientRateLimit: 10 and 20 by default (Cilium's chart, values.yaml); qps 0: none.
       */
      qps: z.number().min(0).max(100_000).default(10),
      burst: z.number().int().min(1).max(100_000).default(20),
    }),
    lease: z
      .strictObject({
        durationMs: ms.default(15000),
        renewDeadlineMs: ms.default(5000),
        retryPeriodMs: ms.default(2000),
      })
      .default({ durationMs: 15000, renewDeadlineMs: 5000, retryPeriodMs: 2000 }),
    manifests: z.array(z.string().min(1)).min(1),
    announce: z
      .strictObject({
        gratuitousCount: z.number().int().min(0).max(100).default(3),
        gratuitousIntervalMs: ms.default(100),
        /** Each answer this long after its request: a starved or emulated node that is slow but right (suite self-test). */
        answerDelayMs: z.number().int().min(0).max(5000).default(0),
        /**
         * The unsolicited NA's Override flag and target link-layer address option (RFC 4861 §7.2.6).
         * Off only in broken fixtures: Cilium sent neither before 1.19.5/1.20.0 (cilium/cilium #46079).
         */
        naOverride: z.boolean().default(true),
        naTargetLinkAddr: z.boolean().default(true),
        /** Join each held IPv6 VIP's solicited-node group on the interface (MLD), or a snooping switch never forwards its solicitations. */
        joinSolicitedNode: z.boolean().default(true),
        /**
         * While it holds a VIP, one gratuitous ARP / unsolicited NA for it this often, so that a
         * switch that ages its forwarding table keeps the holder's port (keepalived's
         * vrrp_garp_master_refresh, MetalLB #3125). 0: only on takeover, as Cilium (#39933).
         */
        refreshMs: z.number().int().min(0).max(3_600_000).default(0),
        /**
         * Requests from these addresses go unanswered. Only in a broken fixture: the symptom of
         * cilium/cilium #27521 (ARP from another node of the cluster to the VIP gets no answer).
         */
        ignoreSenders: z.array(z.string()).default([]),
      })
      .default({
        gratuitousCount: 3,
        gratuitousIntervalMs: 100,
        answerDelayMs: 0,
        naOverride: true,
        naTargetLinkAddr: true,
        joinSolicitedNode: true,
        refreshMs: 0,
        ignoreSenders: [],
      }),
    http: z
      .strictObject({
        port: z.number().int().min(1).max(65535).default(80),
        hostname: z.string().default('myservice.findichgut.net'),
      })
      .default({ port: 80, hostname: 'myservice.findichgut.net' }),
    metrics: z.strictObject({ listen: z.string().regex(/^[^:]+:\d+$|^\[.+\]:\d+$/, 'ADDRESS:PORT') }).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.lease.renewDeadlineMs >= c.lease.durationMs)
      ctx.addIssue({
        code: 'custom',
        path: ['lease', 'renewDeadlineMs'],
        message: `must be below lease.durationMs (${c.lease.durationMs}), or two nodes could answer at once`,
      });
    if (c.lease.retryPeriodMs * 1.2 >= c.lease.renewDeadlineMs)
      ctx.addIssue({
        code: 'custom',
        path: ['lease', 'retryPeriodMs'],
        message: `× 1.2 must be below lease.renewDeadlineMs (${c.lease.renewDeadlineMs})`,
      });
  });

export type AgentConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(file: string): AgentConfig {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(file, [(e as Error).message.split('\n')[0]!]);
  }
  const r = configSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(file, issueLines(r.error));
  return r.data;
}

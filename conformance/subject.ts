// Subjects — the announcer under test — are data: a YAML file says how to install it, which
// node service it is, what it claims (features), and its failover budget or lease settings.
// Built-ins live in conformance/subjects/; users and the suite's own tests add files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { faultPlugin, trialFaultKinds } from '../lab/faults/index.ts';
import { repoRoot } from '../lab/paths.ts';
import type { Lease } from '../lab/types.ts';
import { issueLines } from '../lab/validation.ts';
import { addressSourceNames } from './addresses/index.ts';
import { type FaultName, type Feature, features } from './model.ts';
import { versionAxisNames } from './versions/index.ts';

const leaseSchema = z.strictObject({
  durationMs: z.number().int().positive(),
  renewDeadlineMs: z.number().int().positive(),
  retryPeriodMs: z.number().int().positive(),
});

export const subjectSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"'),
  description: z.string().default(''),
  /**
   * A fixed string, or a command's first line: on this machine, on the control plane, or where the lab's kubectl runs
   * (`kubernetes`: the lab file's kubernetes.on; {{ kubectl }} is kubectl with its kubeconfig) — e.g. the running image.
   */
  version: z
    .union([
      z.string(),
      z.strictObject({
        command: z.string(),
        on: z.enum(['controller', 'control-plane', 'kubernetes']).default('controller'),
      }),
    ])
    .default('unknown'),
  /**
   * Who holds the main VIP's lease, by node name: a command run on the control plane, or where the lab's kubectl runs
   * ({{ lease }} is the lease's name; {{ kubectl }} as for version).
   */
  holder: z
    .strictObject({ command: z.string(), on: z.enum(['control-plane', 'kubernetes']).default('control-plane') })
    .optional(),
  /**
   * On a node: exits 0 once the subject serves there again ({{ node }}, {{ management_ipv4 }}); the suite waits for it after
   * healing a node.
   */
  ready: z.strictObject({ command: z.string(), timeoutS: z.number().int().positive().default(180) }).optional(),
  /** `none`: the subject already runs on the machines (a cluster l2lab did not build); l2lab installs, stops and removes nothing. */
  install: z
    .union([
      z.literal('none'),
      z.strictObject({ playbook: z.string(), vars: z.record(z.string(), z.unknown()).default({}) }),
    ])
    .optional(),
  /**
   * Without a playbook: the command line that runs the announcer on a node ({{ node }}, {{ repo }}, {{ vips }} are filled in); the
   * suite makes it the node service.
   */
  run: z.string().optional(),
  /**
   * The returning node takes the VIP back (VRRP preemption): a while after a heal, not at once. Each
   * trial then starts only once one node has answered alone for the power-off budget, or it would
   * time that fail-back instead of the fault.
   */
  failback: z.boolean().default(false),
  /**
   * Seconds the subject needs after a fault of a kind is healed before it is a candidate again (ucarp
   * sleeps 10 s once it sees its interface down): the next trial waits them, or it would time that
   * sleep instead of a failover. Each with its upstream source in a comment.
   */
  recovery: z.record(z.string(), z.number().positive().max(600)).default({}),
  /** Where `run` runs: the nodes the policy allows, or all nodes. */
  runOn: z.enum(['eligible', 'all']).default('eligible'),
  service: z.string().regex(/^[A-Za-z0-9@_.-]+$/, 'a node service name (l2l-service or systemd)'),
  features: z.array(z.enum(features as [Feature, ...Feature[]])).default([]),
  /** Lease-based subjects: budgets follow from the lease ("lab" = the lab file's, overridable by flags). */
  lease: z.union([z.literal('lab'), leaseSchema]).optional(),
  /**
   * Known upstream defects a failing check names (issue 27): per check, the issue, what goes wrong
   * and the releases that fix it; `cilium-versions` reads them from Cilium's version table
   * (playbooks/files/cilium/versions.yaml, by the running version). A fixture that reproduces one
   * names it too.
   */
  known: z
    .union([
      z.literal('cilium-versions'),
      z.array(
        z.strictObject({
          issue: z.string().regex(/^[\w.-]+\/[\w.-]+#\d+$/, 'owner/repo#number'),
          check: z.string().min(1),
          what: z.string().min(1),
          fixedIn: z.array(z.string()).default([]),
        }),
      ),
    ])
    .default([]),
  /** Milliseconds from the fault to the new responder; `default` for faults not named. */
  budget: z.record(z.string(), z.number().int().positive()).default({}),
  /**
   * Milliseconds more its IPv6 VIPs need on a lab whose hosts run duplicate address detection
   * (switch.dad): a VIP added without nodad answers no solicitation until the kernel has found it
   * unique. Added to the NDP takeover's budget there; 0 where the VIP skips DAD. With its source.
   */
  dadMs: z.number().int().min(0).max(10_000).default(0),
  /**
   * Where the VIPs come from: the reference announcer's agreed allocation in etcd, the first pool address of each family, or the
   * Gateway's status (Kubernetes).
   */
  addresses: z.enum(addressSourceNames()).default('pool-first'),
  /**
   * The versions it can be moved through on a running lab (conformance/versions/): what `--versions` and the nightly matrix's
   * `versions.<subject>` move along between runs. Without one, a subject runs at the version installed.
   */
  versions: z.enum(versionAxisNames()).optional(),
  /** Named settings of the same subject (`--subject NAME:VARIANT`): playbook vars and budgets on top of the defaults. */
  variants: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and "-"'),
      z.strictObject({
        description: z.string().optional(),
        vars: z.record(z.string(), z.unknown()).default({}),
        budget: z.record(z.string(), z.number().int().positive()).default({}),
        // A setting can change what a heal brings (ucarp's --ignoreifstate: no sleep after a link
        // loss, and the node that kept its VIP takes it back): replaces the subject's.
        failback: z.boolean().optional(),
        recovery: z.record(z.string(), z.number().positive().max(600)).optional(),
      }),
    )
    .default({}),
});

export type SubjectFile = z.infer<typeof subjectSchema>;

export type { Lease };

export interface Subject extends Omit<SubjectFile, 'lease' | 'budget' | 'variants' | 'install'> {
  file: string;
  install?: { playbook: string; vars: Record<string, unknown> };
  /** Already running where it runs (`install: none`, or `l2lab test --installed`): nothing is installed, stopped or removed. */
  preinstalled: boolean;
  /** The variant chosen (NAME:VARIANT), if any. */
  variant?: string;
  lease?: Lease;
  budgetMs(fault: FaultName): number;
  /** Processing time this lab allows beyond a real CPU's (emulated VMs): also the HTTP path's. */
  extraSlackMs: number;
  has(f: Feature): boolean;
}

export class SubjectError extends Error {}

export function builtinSubjects(): string[] {
  return readdirSync(join(repoRoot, 'conformance', 'subjects'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

const DEFAULT_SLACK_MS = 500;

/**
 * A subject by built-in name or file; lease settings from the lab unless overridden. slackMs:
 * processing time allowed on top of the protocol's bound (more on emulated VMs).
 */
export function loadSubject(
  nameOrVariant: string,
  labLease: Lease,
  override?: Partial<Lease>,
  slackMs = DEFAULT_SLACK_MS,
): Subject {
  // NAME:VARIANT, where the colon is not part of a path (a file name keeps its colons).
  const m = /^(.*[^/]):([a-z0-9][a-z0-9-]*)$/.exec(nameOrVariant);
  const nameOrFile = m && !existsSync(resolve(nameOrVariant)) ? m[1]! : nameOrVariant;
  const variantName = m && nameOrFile !== nameOrVariant ? m[2] : undefined;
  const builtin = join(repoRoot, 'conformance', 'subjects', `${nameOrFile}.yaml`);
  const file = existsSync(builtin) ? builtin : resolve(nameOrFile);
  if (!existsSync(file))
    throw new SubjectError(
      `no subject "${nameOrFile}": built-in subjects are ${builtinSubjects().join(', ')}; or give a subject file (YAML)`,
    );
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SubjectError(`${file}: not a YAML subject file: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = subjectSchema.safeParse(doc);
  if (!r.success) throw new SubjectError(`${file}: ${issueLines(r.error).join('; ')}`);
  const { variants, install, ...rest } = r.data;
  const preinstalled = install === 'none';
  let s = { ...rest, install: install === 'none' ? undefined : install };
  if (variantName) {
    const v = variants[variantName];
    if (!v)
      throw new SubjectError(
        `${file}: no variant "${variantName}"; variants: ${Object.keys(variants).join(', ') || 'none'} (NAME:VARIANT)`,
      );
    if (Object.keys(v.vars).length && !s.install)
      throw new SubjectError(`${file}: variant ${variantName} sets vars, but the subject has no install playbook`);
    s = {
      ...s,
      name: `${s.name}:${variantName}`,
      description: v.description ?? s.description,
      install: s.install && { ...s.install, vars: { ...s.install.vars, ...v.vars } },
      budget: { ...s.budget, ...v.budget },
      failback: v.failback ?? s.failback,
      recovery: v.recovery ?? s.recovery,
    };
  }
  if (s.install && s.run)
    throw new SubjectError(`${file}: give install (a playbook) or run (a command line), not both`);
  const unknownRecovery = Object.keys(s.recovery).filter((k) => !trialFaultKinds().includes(k));
  if (unknownRecovery.length)
    throw new SubjectError(
      `${file}: recovery: unknown fault ${unknownRecovery.join(', ')}; faults: ${trialFaultKinds().join(', ')}`,
    );
  const unknown = Object.keys(s.budget).filter((k) => k !== 'default' && !trialFaultKinds().includes(k));
  if (unknown.length)
    throw new SubjectError(
      `${file}: budget: unknown fault ${unknown.join(', ')}; faults: ${trialFaultKinds().join(', ')}, or default`,
    );
  const lease = s.lease === 'lab' ? { ...labLease, ...override } : s.lease ? { ...s.lease, ...override } : undefined;
  if (lease && lease.renewDeadlineMs >= lease.durationMs)
    throw new SubjectError(
      `lease: renewDeadline ${lease.renewDeadlineMs} ms must be below duration ${lease.durationMs} ms`,
    );
  // Each fault says how its budget follows from a lease (lab/faults/).
  const derived = (fault: FaultName): number | undefined =>
    lease ? faultPlugin(fault).budget(lease, slackMs) : undefined;
  const extraSlack = slackMs - DEFAULT_SLACK_MS;
  return {
    ...s,
    preinstalled,
    file,
    variant: variantName,
    lease,
    // A subject file's own budgets are for real CPUs: emulation's extra slack applies to them too.
    budgetMs: (fault) => {
      const own = s.budget[fault];
      if (own !== undefined) return own + extraSlack;
      return derived(fault) ?? (s.budget.default ?? 5000) + extraSlack;
    },
    extraSlackMs: extraSlack,
    has: (f) => s.features.includes(f),
  };
}

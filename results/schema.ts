// The conformance results contract: results.json as a zod schema, the types inferred from it,
// read and validated in one place. The conformance suite produces it; reports/ and the history only
// read it. A file from an older l2lab still reads: fields it did not write get their defaults
// (the schema's input is lenient, its output complete); fields from a newer one are dropped.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const ms = z.number();
const vrrpSchema = z.object({
  oldNode: z.string().optional(),
  newNode: z.string().optional(),
  switchoverMs: ms.optional(),
  advertMs: ms.optional(),
  intervalMs: ms.optional(),
});

export const familyFailoverSchema = z.object({
  oldNode: z.string().optional(),
  newNode: z.string().optional(),
  oldMac: z.string().optional(),
  newMac: z.string().optional(),
  /** From the fault to the first answer from the new MAC. */
  takeoverMs: ms.optional(),
  /** Last answer from the old MAC to the first from the new one. */
  outageMs: ms.optional(),
  /** From the fault to the first gratuitous ARP / unsolicited NA from the new MAC. */
  announceMs: ms.optional(),
  /** Every gratuitous ARP / unsolicited NA from the new MAC while the trial watched, ms after the fault. */
  announceTimesMs: z.array(ms).optional(),
  /** Requests answered by two MACs (or twice by one VRRP virtual MAC): split-brain as the client sees it. */
  splitBrainWindows: z.number().default(0),
  /** Requests one MAC answered more than once: no split-brain, reported apart. */
  duplicates: z.number().optional(),
  /** NDP: unsolicited NAs a receiver's neighbour cache could not use, with the RFC section. */
  naFlaws: z.array(z.string()).optional(),
  /** After the takeover, the longest time requests went unanswered (ms) and when it began (ms after the fault). */
  relapseMs: ms.optional(),
  relapseAtMs: ms.optional(),
  /** How long after the takeover the trial watched the new holder (its stability period). */
  watchedMs: ms.optional(),
  /** Another MAC answered after the new holder had (ms after the fault): the VIP did not stay. */
  handedTo: z.string().optional(),
  handedAtMs: ms.optional(),
  /** Where the subject speaks VRRP: its own clock on the wire. */
  vrrp: vrrpSchema.optional(),
});

export const trialSchema = z.object({
  fault: z.string(),
  trial: z.number(),
  /** ISO time on the client clock. */
  faultAt: z.string().default(''),
  budgetMs: ms,
  /** The NDP takeover's budget beyond budgetMs: the subject's dadMs, on a lab whose hosts run DAD (switch.dad). */
  dadMs: ms.optional(),
  arp: familyFailoverSchema.optional(),
  ndp: familyFailoverSchema.optional(),
  http: z
    .object({ outageMs: ms.optional(), before: z.string().optional(), after: z.string().optional() })

    .optional(),
  excludedAnswered: z.boolean().default(false),
  /** Who answers once the fault is undone and the lab has settled (fail-back or not). */
  holderAfterHeal: z.string().optional(),
  passed: z.boolean(),
  problems: z.array(z.string()).default([]),
  /** Measured and reported, not judged (a time over its budget on an emulated lab). */
  notes: z.array(z.string()).optional(),
  /** The trial's .pcap, relative to the run folder. */
  capture: z.string().optional(),
  /** VM clients: the fault is timed on this machine and mapped to the client's clock, within ± this. */
  clockUncertaintyMs: ms.optional(),
  /** How long the capture kept watching after the failover had played out. */
  watchAfterMs: ms.optional(),
});

/** error: the harness failed (the check threw), which says nothing about the subject. */
export const checkStatusSchema = z.enum(['passed', 'failed', 'skipped', 'info', 'error']);

/** Checks renamed since: an older run reads under today's name, so it compares with newer runs. */
const RENAMED: Record<string, string> = { informational: 'store-outage' };

export const checkResultSchema = z.object({
  id: z.string().transform((id) => RENAMED[id] ?? id),
  title: z.string().default(''),
  description: z.string().default(''),
  status: checkStatusSchema,
  /** Why it failed or was skipped. */
  reason: z.string().optional(),
  details: z.array(z.string()).default([]),
  figures: z.record(z.string(), z.union([z.number(), z.string(), z.null()])).default({}),
  trials: z.array(trialSchema).default([]),
  durationMs: ms.default(0),
  /** A failed check that a known upstream defect of this subject (and version) explains: which, and where it is fixed. */
  known: z
    .array(z.object({ issue: z.string(), what: z.string(), fixedIn: z.array(z.string()).default([]) }))
    .optional(),
});

const leaseSchema = z.object({ durationMs: ms, renewDeadlineMs: ms, retryPeriodMs: ms });

export const runResultsSchema = z.object({
  schema: z.literal('l2lab.conformance/v1'),
  startedAt: z.string().min(1),
  finishedAt: z.string().min(1),
  subject: z.object({
    name: z.string().min(1),
    version: z.string(),
    description: z.string().default(''),
    features: z.array(z.string()),
    lease: leaseSchema.optional().nullable(),
  }),
  lab: z.object({
    name: z.string(),
    provider: z.string(),
    file: z.string().default(''),
    nodes: z.array(z.object({ name: z.string(), mac: z.string(), eligible: z.boolean() })).default([]),
    /** The outside client's switch MAC and the prober's own (how a timeline names their frames). */
    client: z.object({ name: z.string(), mac: z.string(), proberMac: z.string() }).optional(),
  }),
  environment: z.object({ kernel: z.string(), node: z.string().default(''), l2labCommit: z.string() }),
  probeIntervalMs: ms,
  /** domain: a further L2 domain's (absent: the lab switch's). */
  vips: z
    .array(
      z.object({
        service: z.string(),
        labels: z.record(z.string(), z.string()).optional(),
        ipv4: z.string().optional(),
        ipv6: z.string().optional(),
        /** Other services on exactly these addresses (a sharing key): one VIP, probed once. */
        shared: z.array(z.string()).optional(),
        domain: z.string().optional(),
      }),
    )
    .default([]),
  checks: z.array(checkResultSchema),
  summary: z.object({
    passed: z.number(),
    failed: z.number(),
    skipped: z.number(),
    info: z.number().default(0),
    errors: z.number().default(0),
  }),
});

export type FamilyFailover = z.output<typeof familyFailoverSchema>;
export type Trial = z.output<typeof trialSchema>;
export type CheckStatus = z.output<typeof checkStatusSchema>;
export type CheckResult = z.output<typeof checkResultSchema>;
export type RunResults = z.output<typeof runResultsSchema>;

export class ResultsError extends Error {}

/** results.json text → results, validated; the error names the file and the field. */
export function parseResults(text: string, file = 'results.json'): RunResults {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ResultsError(`${file}: not JSON (${(e as Error).message})`);
  }
  const r = runResultsSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ResultsError(`${file}: ${i.path.join('.') || '(top)'}: ${i.message} (not l2lab conformance results?)`);
  }
  return r.data;
}

export function readResults(file: string): RunResults {
  return parseResults(readFileSync(file, 'utf8'), file);
}

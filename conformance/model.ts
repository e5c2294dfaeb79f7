// The conformance result model: what every check and trial measured. results.json is this,
// versioned by `schema`; JUnit XML and summary.md are views of it.
import type { Lease } from '../lab/types.ts';

/** What an announcer claims; a check that needs an unclaimed feature is skipped, never passed. */
export type Feature =
  | 'ipv4'
  | 'ipv6'
  | 'gratuitous-arp'
  | 'unsolicited-na'
  | 'graceful-release'
  | 'http'
  | 'lease-store'
  | 'policy-node-selector'
  | 'node-labels'
  | 'ip-sharing'
  | 'traffic-policy-local';
export const features: Feature[] = [
  'ipv4',
  'ipv6',
  'gratuitous-arp',
  'unsolicited-na',
  'graceful-release',
  'http',
  'lease-store',
  'policy-node-selector',
  'node-labels',
  'ip-sharing',
  'traffic-policy-local',
];

/** A fault kind a failover trial injects on the current holder (lab/faults/, those with a trial). */
export type FaultName = string;

export interface FamilyFailover {
  oldNode?: string;
  newNode?: string;
  oldMac?: string;
  newMac?: string;
  /** From the fault to the first answer from the new MAC. */
  takeoverMs?: number;
  /** Last answer from the old MAC to the first from the new one. */
  outageMs?: number;
  /** From the fault to the first gratuitous ARP / unsolicited NA from the new MAC. */
  announceMs?: number;
  /** Every gratuitous ARP / unsolicited NA from the new MAC while the trial watched, ms after the fault (the announcement pattern). */
  announceTimesMs?: number[];
  /**
   * Requests answered by two MACs (or twice by one VRRP virtual MAC), each answer tied to its
   * request by content: split-brain as the client sees it. (Named windows in older results.)
   */
  splitBrainWindows: number;
  /** Requests one MAC answered more than once: no split-brain, reported apart. */
  duplicates?: number;
  /**
   * NDP: the new holder's unsolicited NAs a receiver's neighbour cache could not use (no Override
   * flag, no target link-layer address), with the RFC section.
   */
  naFlaws?: string[];
  /**
   * After the takeover, the longest time the client's requests went unanswered (ms) and when it
   * began (ms after the fault): about one probe interval when the new holder keeps the VIP; a
   * holder that loses and wins its lease again (flapping) shows here, not in takeoverMs.
   */
  relapseMs?: number;
  relapseAtMs?: number;
  /** How long after the takeover this trial watched the new holder (its stability period), where it was one. */
  watchedMs?: number;
  /** Another MAC answered the prober after the new holder had (ms after the fault): the VIP did not stay. */
  handedTo?: string;
  handedAtMs?: number;
  /**
   * Where the subject speaks VRRP, its own clock on the wire: the old master's last advertisement
   * to the new master's first (switchoverMs), the fault to that first one (advertMs), and the
   * advertisement interval (VRRP's own resolution).
   */
  vrrp?: { oldNode?: string; newNode?: string; switchoverMs?: number; advertMs?: number; intervalMs?: number };
}

export interface Trial {
  fault: FaultName;
  trial: number;
  faultAt: string; // ISO time on the client clock
  budgetMs: number;
  arp?: FamilyFailover;
  ndp?: FamilyFailover;
  http?: { outageMs?: number; before?: string; after?: string };
  excludedAnswered: boolean;
  /** Who answers once the fault is undone and the lab has settled (fail-back or not). */
  holderAfterHeal?: string;
  passed: boolean;
  problems: string[];
  /** Measured and reported, not judged (a time over its budget on an emulated lab). */
  notes?: string[];
  capture?: string; // .pcap of this trial, relative to the report folder
  /** VM clients: the fault is timed on this machine and mapped to the client's clock, within ± this. */
  clockUncertaintyMs?: number;
  /** How long the capture kept watching after the failover had played out (stability period, announcements). */
  watchAfterMs?: number;
}

/** error: the harness failed (the check threw), which says nothing about the subject. */
export type CheckStatus = 'passed' | 'failed' | 'skipped' | 'info' | 'error';

export interface CheckResult {
  id: string;
  title: string;
  description: string;
  status: CheckStatus;
  reason?: string; // why it failed or was skipped
  details: string[];
  figures: Record<string, number | string | null>;
  trials: Trial[];
  durationMs: number;
}

export interface RunResults {
  schema: 'l2lab.conformance/v1';
  startedAt: string;
  finishedAt: string;
  subject: {
    name: string;
    version: string;
    description: string;
    features: Feature[];
    lease?: Lease;
  };
  lab: {
    name: string;
    provider: string;
    file: string;
    nodes: { name: string; mac: string; eligible: boolean }[];
    /** The outside client's switch MAC and the prober's own (how a timeline names their frames). */
    client?: { name: string; mac: string; proberMac: string };
  };
  environment: { kernel: string; node: string; l2labCommit: string };
  probeIntervalMs: number;
  /** domain: a further L2 domain's (absent: the lab switch's). */
  vips: { service: string; ipv4?: string; ipv6?: string; domain?: string }[];
  checks: CheckResult[];
  summary: { passed: number; failed: number; skipped: number; info: number; errors: number };
}

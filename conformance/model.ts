// The conformance result model: what every check and trial measured. results.json is this,
// versioned by `schema`; JUnit XML and summary.md are views of it.

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
  | 'traffic-policy-local'
  | 'many-vips'
  | 'client-rate-limit';
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
  'many-vips',
  'client-rate-limit',
];

/** A fault kind a failover trial injects on the current holder (lab/faults/, those with a trial). */
export type FaultName = string;

// What each check and trial measured, and the run's results.json: the contract lives in
// results/schema.ts (a zod schema; these types are inferred from it).
export type { CheckResult, CheckStatus, FamilyFailover, RunResults, Trial } from '../results/schema.ts';

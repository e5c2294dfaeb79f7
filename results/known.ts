// How a known upstream defect reads beside the failure it explains (conformance/known-issues.ts).
import type { CheckResult } from './schema.ts';

export type KnownIssue = NonNullable<CheckResult['known']>[number];

/** "known: cilium/cilium#46079 (fixed in 1.19.5, 1.20.0)"; '' for none. */
export function knownLine(known: KnownIssue[] | undefined): string {
  if (!known?.length) return '';
  const each = known.map((k) => `${k.issue} (${k.fixedIn.length ? `fixed in ${k.fixedIn.join(', ')}` : 'not fixed'})`);
  return `known: ${each.join('; ')}`;
}

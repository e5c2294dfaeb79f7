// Known upstream defects beside the failures they explain: a user sees "known: cilium/cilium#46079,
// fixed in 1.19.5, 1.20.0" next to a failed gratuitous check, not only the failure. The subject
// file lists its own (peers, fixtures that reproduce one); Cilium's come from its version table,
// those the running version still has.
import { defectsOf } from '../playbooks/cluster/versions.ts';
import type { KnownIssue } from '../results/known.ts';
import type { CheckResult } from './model.ts';
import type { Subject } from './subject.ts';

/** The known defects of this subject at this version, per check id. */
export function knownIssues(subject: Subject, version: string): Map<string, KnownIssue[]> {
  const list =
    subject.known === 'cilium-versions'
      ? defectsOf(version).map((d) => ({ check: d.check, issue: d.issue, what: d.what, fixedIn: d.fixedIn }))
      : subject.known;
  const by = new Map<string, KnownIssue[]>();
  for (const k of list)
    by.set(k.check, [...(by.get(k.check) ?? []), { issue: k.issue, what: k.what, fixedIn: k.fixedIn }]);
  return by;
}

/** Each failed check with the known defects that name it. */
export function withKnownIssues(results: CheckResult[], known: Map<string, KnownIssue[]>): CheckResult[] {
  return results.map((r) => (r.status === 'failed' && known.get(r.id) ? { ...r, known: known.get(r.id) } : r));
}

// A campaign's plan: subjects × the versions each moves through × leases, as cells in order, and
// every reason it cannot run on this lab, found before the first cell starts (all at once).
import { loadSubject, type Subject } from '../conformance/subject.ts';
import { versionAxis } from '../conformance/versions/index.ts';
import type { Lab } from '../lab/types.ts';
import type { Cell } from '../results/night.ts';

export interface CampaignInput {
  /** Built-in names, NAME:VARIANT or subject files, in the order they run. */
  subjects: string[];
  /** Per subject (its name without a variant, or as given): the versions to move it through, in order. */
  versions?: Record<string, string[]>;
  /** "duration/renewDeadline/retryPeriod" in ms: each lease-based subject runs once per lease. */
  leases?: string[];
}

export interface Plan {
  cells: Cell[];
  /** Each subject as loaded, by the name it was given. */
  subjects: Map<string, Subject>;
  /** Field: problem, every one; the plan runs only without any. */
  problems: string[];
}

/** The subject's name without its variant (cilium for cilium:fast): what `versions` is keyed by. */
const baseName = (s: Subject) => s.name.split(':')[0]!;

export function planCampaign(input: CampaignInput, lab: Lab): Plan {
  const problems: string[] = [];
  const subjects = new Map<string, Subject>();
  for (const s of input.subjects)
    try {
      subjects.set(s, loadSubject(s, lab.lease));
    } catch (e) {
      problems.push(`subjects: ${(e as Error).message}`);
    }
  for (const [name, versions] of Object.entries(input.versions ?? {})) {
    const subject = subjects.get(name) ?? [...subjects.values()].find((s) => baseName(s) === name);
    if (!subject) {
      // A subject that did not load is reported already; it may be the one named here.
      if (subjects.size === input.subjects.length)
        problems.push(`versions.${name}: the subjects do not include ${name}`);
      continue;
    }
    if (!subject.versions) {
      problems.push(`versions.${name}: subject ${name} has no version axis (its file sets no \`versions:\`)`);
      continue;
    }
    const p = versionAxis(subject.versions).problem(lab, versions);
    if (p) problems.push(`versions.${name}: ${p}`);
  }
  const cells: Cell[] = [];
  for (const given of input.subjects) {
    const subject = subjects.get(given);
    if (!subject) continue;
    const versions = (subject.versions && (input.versions?.[given] ?? input.versions?.[baseName(subject)])) || [
      undefined,
    ];
    const leases = subject.lease && input.leases?.length ? input.leases : [undefined];
    for (const version of versions)
      for (const lease of leases)
        cells.push({
          id: [given.replace(/[:/]/g, '-'), version, lease && `lease-${lease.replace(/\//g, '-')}`]
            .filter(Boolean)
            .join('-'),
          subject: given,
          ...(version ? { version } : {}),
          ...(lease ? { lease } : {}),
        });
  }
  return { cells, subjects, problems };
}

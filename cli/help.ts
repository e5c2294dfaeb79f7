// What the help text needs, kept apart from the verbs' code so that the parser loads light.
import { faultPlugins } from '../lab/faults/index.ts';

/**
 * Trials per fault when --trials is not given: what `report compare` needs for a verdict
 * (defaultSettings.minTrials, 5 — measured), so two default runs can be compared (a test holds them equal).
 */
export const DEFAULT_TRIALS = 5;

/** The keys a run selection (report compare A B) may use. */
export const selectionKeys = [
  'subject',
  'version',
  'lab',
  'provider',
  'lease',
  'commit',
  'kernel',
  'since',
  'until',
  'last',
];

/** One usage line per fault kind, from the registry. */
export function faultKindsHelp(): string {
  return faultPlugins
    .map(
      (f) =>
        `  ${[
          f.kind,
          f.scope === 'switch' ? 'switch|DOMAIN' : 'NODE',
          ...f.args.map((a) => a.name.toUpperCase()),
          ...(f.options ?? []).map((o) => `[--${o.name} ${o.name.toUpperCase()}]`),
        ].join(' ')}  ${f.description}`,
    )
    .join('\n');
}

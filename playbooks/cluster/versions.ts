// The version table (playbooks/files/cilium/versions.yaml) and what follows from it: which Gateway
// API each Cilium version takes, whether a pair can work (judged from what the vendored CRDs
// really serve, against what that version's operator checks at start), the known defects of a
// version, and whether a sequence of upgrades would take the CRDs back past Gateway API's
// safe-upgrades policy. Pre-releases are versions of their own: 1.20.0-pre.1 is not 1.20.0.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { repoRoot } from '../../lab/paths.ts';
import type { Lab } from '../../lab/types.ts';
import { compareVersions } from './chart.ts';

const FILES = join(repoRoot, 'playbooks', 'files');
export const VERSIONS_FILE = join(FILES, 'cilium', 'versions.yaml');

const gvr = z.string().regex(/^[a-z0-9.-]+\/v[0-9a-z]+\/[a-z]+$/, 'group/version/resource');
const version = z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/, 'a version such as 1.20.0 or 1.20.0-pre.1');
const tableSchema = z.strictObject({
  gatewayAPI: z.record(
    z.string().regex(/^v\d+\.\d+\.\d+$/),
    z.strictObject({
      files: z.array(z.string()).min(1),
      source: z.string(),
      refusesOlderThan: z.string().optional(),
    }),
  ),
  cilium: z.record(
    version,
    z.strictObject({
      gatewayAPI: z.string(),
      operator: z.strictObject({ requires: z.array(gvr).min(1), optional: z.array(gvr).default([]) }),
      pool: z.string(),
      policy: z.string(),
      notes: z.array(z.string()).default([]),
      sources: z.array(z.string()).min(1),
    }),
  ),
  defects: z.array(
    z.strictObject({
      id: z.string(),
      issue: z.string(),
      fixedIn: z.array(version).min(1),
      check: z.string(),
      what: z.string(),
    }),
  ),
});
export type VersionTable = z.infer<typeof tableSchema>;
export type CiliumRow = VersionTable['cilium'][string];
export type Defect = VersionTable['defects'][number];

let table: VersionTable | undefined;
/** The table, checked: every Cilium row names a vendored Gateway API bundle whose files exist. */
export function versionTable(): VersionTable {
  if (table) return table;
  const t = tableSchema.parse(parse(readFileSync(VERSIONS_FILE, 'utf8')));
  for (const [v, row] of Object.entries(t.cilium))
    if (!t.gatewayAPI[row.gatewayAPI])
      throw new Error(`${VERSIONS_FILE}: cilium ${v} pairs with unknown ${row.gatewayAPI}`);
  for (const [g, b] of Object.entries(t.gatewayAPI))
    for (const f of b.files)
      if (!existsSync(join(FILES, `gateway-api-${g}`, f))) throw new Error(`${VERSIONS_FILE}: ${g} lists missing ${f}`);
  table = t;
  return t;
}

const bare = (v: string) => v.replace(/^v/, '');
/**
 * A version's row; a later patch release of a line takes the row of the line's newest released
 * version before it (1.20.1 → 1.20.0), marked as assumed. Pre-releases and earlier patches match
 * exactly or not at all (operators changed within a line: 1.19.1 is not 1.19.6).
 */
export function ciliumRow(v: string): (CiliumRow & { assumedFrom?: string }) | undefined {
  const t = versionTable();
  const exact = t.cilium[bare(v)];
  if (exact) return exact;
  if (bare(v).includes('-')) return undefined;
  const line = (x: string) => x.split('.').slice(0, 2).join('.');
  const from = knownCiliumVersions()
    .filter((k) => !k.includes('-') && line(k) === line(bare(v)) && compareVersions(k, bare(v)) < 0)
    .at(-1);
  return from ? { ...t.cilium[from]!, assumedFrom: from } : undefined;
}
export const knownCiliumVersions = (): string[] => Object.keys(versionTable().cilium).sort(compareVersions);
export const gatewayApiBundles = (): string[] => Object.keys(versionTable().gatewayAPI).sort(compareVersions);
/** The files the cluster path applies for a Gateway API version, relative to gateway-api-<version>/. */
export const gatewayApiFiles = (g: string): string[] => versionTable().gatewayAPI[g]?.files ?? [];

/** The Gateway API the cluster path installs: the lab file's if it names one, else the table's pair. */
export function gatewayApiFor(versions: { cilium: string; gatewayAPI?: string | undefined }): string | undefined {
  return versions.gatewayAPI ?? ciliumRow(versions.cilium)?.gatewayAPI;
}

/** A CustomResourceDefinition as the vendored files spell it (what the checks here read of it). */
export interface CrdDoc {
  spec: {
    group: string;
    names: { plural: string; kind: string };
    versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Record<string, unknown> } }[];
  };
}

const crdCache = new Map<string, CrdDoc[]>();
/** The CRDs of a vendored Gateway API bundle (the files the cluster path applies), parsed once. */
export function bundleCrds(g: string): CrdDoc[] {
  const hit = crdCache.get(g);
  if (hit) return hit;
  const crds = gatewayApiFiles(g).flatMap((f) => crdDocs(join(FILES, `gateway-api-${g}`, f)));
  crdCache.set(g, crds);
  return crds;
}

/** The CustomResourceDefinitions in one YAML file (other documents, such as policies, left out). */
export function crdDocs(file: string): CrdDoc[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as (Partial<CrdDoc> & { kind?: string }) | null)
    .filter((o): o is CrdDoc & { kind: string } => o?.kind === 'CustomResourceDefinition' && !!o.spec);
}

/** Per group/version/resource of a vendored bundle: its kind, and whether a CRD serves it (or only lists it). */
export function bundleVersions(g: string): Map<string, { served: boolean; kind: string }> {
  return new Map(
    bundleCrds(g).flatMap(({ spec }) =>
      spec.versions.map(
        (v) => [`${spec.group}/${v.name}/${spec.names.plural}`, { served: v.served, kind: spec.names.kind }] as const,
      ),
    ),
  );
}

/** What the API server serves once the bundle is in, as helm's --api-versions spells it (group/version/Kind). */
export const servedApiVersions = (g: string): string[] =>
  [...bundleVersions(g)]
    .filter(([, v]) => v.served)
    .map(([gvr, v]) => `${gvr.slice(0, gvr.lastIndexOf('/'))}/${v.kind}`);

export interface Pairing {
  /** False: the pair cannot work; refuse before anything is installed. */
  ok: boolean;
  /** Both versions are in the table (else nothing is known about the pair). */
  known: boolean;
  message: string;
}

/**
 * Can Cilium `cilium`'s operator start its Gateway controller on Gateway API `g`'s CRDs? Judged
 * from what the vendored CRDs serve against what the table says the operator checks.
 */
export function checkPairing(cilium: string, g: string): Pairing {
  const t = versionTable();
  const pair = `Cilium ${bare(cilium)} with Gateway API ${g}`;
  if (!t.gatewayAPI[g])
    return {
      ok: false,
      known: false,
      message:
        `${pair}: no vendored Gateway API ${g} (vendored: ${gatewayApiBundles().join(', ')}); set versions.gatewayAPI ` +
        'to one of them',
    };
  const row = ciliumRow(cilium);
  if (!row)
    return {
      ok: true,
      known: false,
      message:
        `${pair}: Cilium ${bare(cilium)} is not in l2lab's version table (${knownCiliumVersions().join(', ')}), so what its ` +
        'operator needs is not known here; proceeding unchecked',
    };
  const assumed = row.assumedFrom
    ? ` (not in the table: ${row.assumedFrom}'s row, assumed for later patches of its line)`
    : '';
  const served = bundleVersions(g);
  const missing = row.operator.requires.filter((r) => !served.get(r)?.served);
  const crash = row.operator.optional.filter((r) => served.has(r) && !served.get(r)!.served);
  const fix = `use Gateway API ${row.gatewayAPI} with Cilium ${bare(cilium)} (set versions.gatewayAPI: ${row.gatewayAPI}, or leave it out)`;
  if (missing.length)
    return {
      ok: false,
      known: true,
      message:
        `${pair} cannot work: its operator needs ${missing.join(', ')} served, which ${g} does not serve; the operator turns ` +
        `its Gateway controller off and the Gateway never gets an address. Fix: ${fix}`,
    };
  if (crash.length)
    return {
      ok: false,
      known: true,
      message:
        `${pair} cannot work: ${g} lists ${crash.join(', ')} without serving it, and this operator watches it anyway and ` +
        `crash-loops (cilium/cilium#45139). Fix: ${fix}`,
    };
  return g === row.gatewayAPI
    ? { ok: true, known: true, message: `${pair}: the pair in l2lab's version table${assumed}` }
    : {
        ok: true,
        known: true,
        message: `${pair}: its operator finds everything it checks, but Cilium ${bare(cilium)} pairs with ${row.gatewayAPI}`,
      };
}

/** The table's known defects that `cilium` has (a fix in its own line, or in an earlier line it branched after). */
export function defectsOf(cilium: string): Defect[] {
  const v = bare(cilium);
  const line = (x: string) => x.split('.').slice(0, 2).join('.');
  return versionTable().defects.filter((d) => {
    const same = d.fixedIn.find((f) => line(f) === line(v));
    if (same) return compareVersions(v, same) < 0;
    const earlier = d.fixedIn.filter((f) => compareVersions(line(f), line(v)) < 0);
    return earlier.length === 0;
  });
}

/**
 * Gateway API v1.5+ installs a ValidatingAdmissionPolicy that refuses CRDs of an older bundle: a
 * sequence of upgrades that goes back from such a bundle to an older one fails half-way. Returns
 * the problem, or undefined.
 */
export function crdSequenceProblem(steps: { cilium: string; gatewayAPI: string }[]): string | undefined {
  const t = versionTable();
  for (let i = 1; i < steps.length; i++) {
    const before = steps.slice(0, i).map((s) => s.gatewayAPI);
    const now = steps[i]!;
    for (const b of before) {
      const floor = t.gatewayAPI[b]?.refusesOlderThan;
      if (floor && compareVersions(now.gatewayAPI, floor) < 0)
        return (
          `Cilium ${bare(now.cilium)} needs Gateway API ${now.gatewayAPI}, but an earlier step installs ${b}, whose ` +
          `safe-upgrades policy refuses CRDs older than ${floor}: order the versions oldest Gateway API first`
        );
    }
  }
  return undefined;
}

/**
 * The lab at another Cilium version (an upgrade, --cilium-versions): with that version's Gateway API
 * from the version table; the lab file's versions.gatewayAPI names the pair for its own version.
 */
export function withCilium(lab: Lab, cilium: string): Lab {
  const gatewayAPI = ciliumRow(cilium)?.gatewayAPI ?? lab.versions.gatewayAPI;
  return { ...lab, versions: { ...lab.versions, cilium, ...(gatewayAPI ? { gatewayAPI } : {}) } };
}

/**
 * Upgrading the lab's cluster (installed at the lab file's version) through `versions` in order:
 * the problem a step would meet with the Gateway API CRDs, or undefined.
 */
export const upgradeProblem = (lab: Lab, versions: string[]): string | undefined =>
  crdSequenceProblem(
    [lab, ...versions.map((v) => withCilium(lab, v))].flatMap((l) => {
      const g = gatewayApiFor(l.versions);
      return g ? [{ cilium: l.versions.cilium, gatewayAPI: g }] : [];
    }),
  );

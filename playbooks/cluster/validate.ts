// Offline checks of what the cluster path renders: custom resources against the real CRD
// schemas kept in playbooks/files (strict field validation, as `kubectl apply --validate=strict`),
// and Cilium's Helm values against the chart's values.schema.json.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../lab/paths.ts';
import type { K8sObject } from './manifests.ts';
import { bundleCrds, crdDocs } from './versions.ts';

const FILES = join(repoRoot, 'playbooks', 'files');

interface Crd {
  group: string;
  kind: string;
  versions: { name: string; schema: Record<string, unknown> }[];
}

const cache = new Map<string, Crd[]>();
/**
 * Cilium's CRDs and those of one vendored Gateway API bundle (the files the cluster path applies
 * for it), each with the versions it serves.
 */
export function loadCrds(gatewayAPI: string): Crd[] {
  const hit = cache.get(gatewayAPI);
  if (hit) return hit;
  const cilium = readdirSync(join(FILES, 'cilium'))
    .filter((f) => f.startsWith('cilium') && f.endsWith('.yaml'))
    .flatMap((f) => crdDocs(join(FILES, 'cilium', f)));
  const crds = [...cilium, ...bundleCrds(gatewayAPI)].map(({ spec }) => ({
    group: spec.group,
    kind: spec.names.kind,
    versions: spec.versions
      .filter((v) => v.schema && v.served !== false)
      .map((v) => ({ name: v.name, schema: v.schema!.openAPIV3Schema })),
  }));
  cache.set(gatewayAPI, crds);
  return crds;
}

/** Unknown fields are errors (strict field validation), unless the schema preserves them. */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== 'object') return schema;
  const s = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s))
    out[k] =
      k === 'properties' && v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, strict(pv)]))
        : strict(v);
  if (s.properties && s.additionalProperties === undefined && s['x-kubernetes-preserve-unknown-fields'] !== true)
    out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const path = e.instancePath.replace(/\//g, '.').replace(/^\./, '') || '(object)';
    if (e.keyword === 'additionalProperties')
      return `${path}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    if (e.keyword === 'enum')
      return `${path}: ${e.message} (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`;
    return `${path}: ${e.message}`;
  });
}

/** Problems of one object against its CRD; [] when valid. Objects of built-in kinds are not checked here. */
export function validateObject(o: K8sObject, gatewayAPI: string): string[] | undefined {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const crd = loadCrds(gatewayAPI).find((c) => c.group === group && c.kind === o.kind);
  if (!crd) return undefined;
  const v = crd.versions.find((x) => x.name === version);
  if (!v)
    return [
      `${o.kind}: version ${version} is not served by the CRD (versions: ${crd.versions.map((x) => x.name).join(', ')})`,
    ];
  const label = `${o.kind} ${o.metadata.name}`;
  const check = ajv.compile(strict(v.schema) as object);
  return check(o as unknown) ? [] : describe(check.errors).map((p) => `${label}: ${p}`);
}

let valuesCheck: ReturnType<Ajv['compile']> | undefined;
let knownKeys: { paths: Set<string>; documented: Set<string> } | undefined;

/**
 * Problems of Cilium Helm values: types and enums against the chart's values.schema.json (as
 * Helm checks them), and every key known to the chart's values.yaml — set there, or documented
 * there as a commented-out key (`# leaseDuration: 15s`), as many of Cilium's are.
 */
export function validateCiliumValues(values: Record<string, unknown>): string[] {
  valuesCheck ??= ajv.compile(
    JSON.parse(readFileSync(join(FILES, 'cilium', 'helm-values.schema.json'), 'utf8')) as object,
  );
  if (!knownKeys) {
    const text = readFileSync(join(FILES, 'cilium', 'helm-values.yaml'), 'utf8');
    const paths = new Set<string>();
    const add = (o: unknown, prefix: string) => {
      if (!o || typeof o !== 'object' || Array.isArray(o)) return;
      for (const [k, v] of Object.entries(o)) {
        paths.add(`${prefix}${k}`);
        add(v, `${prefix}${k}.`);
      }
    };
    add(parseAllDocuments(text)[0]!.toJS(), '');
    knownKeys = {
      paths,
      documented: new Set([...text.matchAll(/^\s*# ([A-Za-z][A-Za-z0-9_]*):/gm)].map((m) => m[1]!)),
    };
  }
  const problems = valuesCheck(values) ? [] : describe(valuesCheck.errors).map((p) => `values.yaml: ${p}`);
  const visit = (o: unknown, prefix: string) => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return;
    for (const [k, v] of Object.entries(o)) {
      const path = `${prefix}${k}`;
      if (!knownKeys!.paths.has(path) && !knownKeys!.documented.has(k)) {
        problems.push(`values.yaml: ${path}: not a key of the Cilium chart (values.yaml)`);
        continue;
      }
      if (knownKeys!.paths.has(path)) visit(v, `${path}.`);
    }
  };
  visit(values, '');
  return problems;
}

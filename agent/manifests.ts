// The objects a Cilium user writes, read from YAML: CiliumLoadBalancerIPPool (cilium.io/v2),
// CiliumL2AnnouncementPolicy (cilium.io/v2alpha1), Services of type LoadBalancer, and Gateways
// (Cilium gives each Gateway a LoadBalancer Service "cilium-gateway-<name>" carrying
// spec.infrastructure.labels, with the externalTrafficPolicy of its GatewayClass's
// CiliumGatewayClassConfig). Only the fields the announcer uses are read; their shapes are checked.
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { type LabelSelector, type Labels, selectorSchema } from '../lab/selector.ts';
import { issueLines } from '../lab/validation.ts';

const meta = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const portSchema = z.looseObject({ port: z.number().int().min(1).max(65535), protocol: z.string().optional() });

const poolSchema = z.looseObject({
  apiVersion: z.literal('cilium.io/v2'),
  kind: z.literal('CiliumLoadBalancerIPPool'),
  metadata: meta,
  spec: z.looseObject({
    blocks: z
      .array(z.looseObject({ cidr: z.string().optional(), start: z.string().optional(), stop: z.string().optional() }))
      .min(1),
    serviceSelector: selectorSchema.optional(),
    disabled: z.boolean().optional(),
    allowFirstLastIPs: z.enum(['Yes', 'No']).optional(),
  }),
});

const policySchema = z.looseObject({
  apiVersion: z.literal('cilium.io/v2alpha1'),
  kind: z.literal('CiliumL2AnnouncementPolicy'),
  metadata: meta,
  spec: z.looseObject({
    nodeSelector: selectorSchema.optional(),
    serviceSelector: selectorSchema.optional(),
    interfaces: z.array(z.string()).optional(),
    loadBalancerIPs: z.boolean().optional(),
    externalIPs: z.boolean().optional(),
  }),
});

const serviceSchema = z.looseObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: meta,
  spec: z
    .looseObject({
      type: z.string().optional(),
      externalIPs: z.array(z.string()).optional(),
      loadBalancerClass: z.string().optional(),
      ports: z.array(portSchema).optional(),
      externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
    })
    .default({}),
});

const gatewayClassSchema = z.looseObject({
  apiVersion: z.string().startsWith('gateway.networking.k8s.io/'),
  kind: z.literal('GatewayClass'),
  metadata: meta,
  spec: z.looseObject({
    controllerName: z.string(),
    parametersRef: z
      .looseObject({ group: z.string(), kind: z.string(), name: z.string(), namespace: z.string().optional() })
      .optional(),
  }),
});

const classConfigSchema = z.looseObject({
  apiVersion: z.literal('cilium.io/v2alpha1'),
  kind: z.literal('CiliumGatewayClassConfig'),
  metadata: meta,
  spec: z
    .looseObject({
      service: z.looseObject({ externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional() }).optional(),
    })
    .default({}),
});

const gatewaySchema = z.looseObject({
  apiVersion: z.string().startsWith('gateway.networking.k8s.io/'),
  kind: z.literal('Gateway'),
  metadata: meta,
  spec: z.looseObject({
    gatewayClassName: z.string(),
    infrastructure: z
      .looseObject({
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .optional(),
    listeners: z.array(z.looseObject({ port: z.number().int() })).optional(),
  }),
});

export interface Pool {
  name: string;
  blocks: { cidr?: string; start?: string; stop?: string }[];
  serviceSelector?: LabelSelector;
  allowFirstLastIPs: boolean;
  disabled: boolean;
}
export interface Policy {
  name: string;
  nodeSelector?: LabelSelector;
  serviceSelector?: LabelSelector;
  interfaces: string[];
  loadBalancerIPs: boolean;
  externalIPs: boolean;
}
export interface Service {
  namespace: string;
  name: string;
  labels: Labels;
  loadBalancer: boolean;
  externalIPs: string[];
  /** LB-IPAM sharing (lbipam.cilium.io/sharing-key): services with one key may share an address. */
  sharing?: { key: string; namespaces: string[] }; // namespaces: also shared with these ('*': any)
  ports: string[]; // "80/TCP": services sharing an address must not clash here
  /** Local: traffic goes only to backends on the node that receives it (Cilium #46399: only such nodes announce). */
  trafficPolicy: 'Cluster' | 'Local';
  /** The Gateway whose service this is (namespace/name): its backend is the Envoy on every node. */
  gateway?: string;
}

/** Cilium's LB-IPAM annotations for address sharing (the io.cilium/ names are the older spelling). */
function sharingOf(annotations: Record<string, string> = {}): Service['sharing'] {
  const key = annotations['lbipam.cilium.io/sharing-key'] ?? annotations['io.cilium/lb-ipam-sharing-key'];
  if (!key) return undefined;
  const cross =
    annotations['lbipam.cilium.io/sharing-cross-namespace'] ??
    annotations['io.cilium/lb-ipam-sharing-cross-namespace'] ??
    '';
  return {
    key,
    namespaces: cross
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  };
}
export interface Manifests {
  pools: Pool[];
  policies: Policy[];
  services: Service[];
}

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
    this.name = 'ManifestError';
  }
}

const KINDS = [
  'CiliumLoadBalancerIPPool',
  'CiliumL2AnnouncementPolicy',
  'Service',
  'Gateway',
  'GatewayClass',
  'CiliumGatewayClassConfig',
];

export function parseManifests(text: string, file: string): Manifests {
  const out: Manifests = { pools: [], policies: [], services: [] };
  const problems: string[] = [];
  // A Gateway's service takes its traffic policy from its class's config, wherever in the files they are.
  const gatewayClass = new Map<string, string>(); // Gateway namespace/name → its gatewayClassName
  const classConfig = new Map<string, string>(); // GatewayClass → CiliumGatewayClassConfig namespace/name
  const configPolicy = new Map<string, 'Cluster' | 'Local'>();
  parseAllDocuments(text).forEach((doc, i) => {
    const where = `document ${i + 1}`;
    if ('errors' in doc && doc.errors.length) {
      problems.push(`${where}: YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
      return;
    }
    const obj = doc.toJS() as { kind?: string } | null;
    if (obj === null) return;
    const check = <T>(schema: z.ZodType<T>): T | undefined => {
      const r = schema.safeParse(obj);
      if (r.success) return r.data;
      for (const line of issueLines(r.error, { top: '(object)' })) problems.push(`${where} (${obj.kind}): ${line}`);
      return undefined;
    };
    switch (obj.kind) {
      case 'CiliumLoadBalancerIPPool': {
        const p = check(poolSchema);
        if (p)
          out.pools.push({
            name: p.metadata.name,
            blocks: p.spec.blocks,
            serviceSelector: p.spec.serviceSelector,
            // Unset means Yes since Cilium 1.16 (cilium/cilium#33151; the CRD says so): only No reserves them.
            allowFirstLastIPs: p.spec.allowFirstLastIPs !== 'No',
            disabled: !!p.spec.disabled,
          });
        break;
      }
      case 'CiliumL2AnnouncementPolicy': {
        const p = check(policySchema);
        if (p)
          out.policies.push({
            name: p.metadata.name,
            nodeSelector: p.spec.nodeSelector,
            serviceSelector: p.spec.serviceSelector,
            interfaces: p.spec.interfaces ?? [],
            loadBalancerIPs: !!p.spec.loadBalancerIPs,
            externalIPs: !!p.spec.externalIPs,
          });
        break;
      }
      case 'Service': {
        const s = check(serviceSchema);
        if (s)
          out.services.push({
            namespace: s.metadata.namespace ?? 'default',
            name: s.metadata.name,
            labels: s.metadata.labels ?? {},
            loadBalancer: s.spec.type === 'LoadBalancer',
            externalIPs: s.spec.externalIPs ?? [],
            sharing: sharingOf(s.metadata.annotations),
            ports: (s.spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`),
            trafficPolicy: s.spec.externalTrafficPolicy ?? 'Cluster',
          });
        break;
      }
      case 'Gateway': {
        const g = check(gatewaySchema);
        if (g) gatewayClass.set(`${g.metadata.namespace ?? 'default'}/${g.metadata.name}`, g.spec.gatewayClassName);
        if (g)
          out.services.push({
            namespace: g.metadata.namespace ?? 'default',
            name: `cilium-gateway-${g.metadata.name}`,
            labels: g.spec.infrastructure?.labels ?? {},
            loadBalancer: true,
            externalIPs: [],
            // Cilium copies spec.infrastructure to the Gateway's service.
            sharing: sharingOf(g.spec.infrastructure?.annotations),
            ports: [...new Set((g.spec.listeners ?? []).map((l) => `${l.port}/TCP`))],
            trafficPolicy: 'Cluster', // from its class's config, below
            gateway: `${g.metadata.namespace ?? 'default'}/${g.metadata.name}`,
          });
        break;
      }
      case 'GatewayClass': {
        const c = check(gatewayClassSchema);
        const ref = c?.spec.parametersRef;
        if (ref?.group === 'cilium.io' && ref.kind === 'CiliumGatewayClassConfig')
          classConfig.set(c!.metadata.name, `${ref.namespace ?? 'default'}/${ref.name}`);
        break;
      }
      case 'CiliumGatewayClassConfig': {
        const c = check(classConfigSchema);
        if (c)
          configPolicy.set(
            `${c.metadata.namespace ?? 'default'}/${c.metadata.name}`,
            c.spec.service?.externalTrafficPolicy ?? 'Cluster',
          );
        break;
      }
      default:
        problems.push(
          `${where}: kind ${JSON.stringify(obj.kind)} is not read by the announcer (kinds: ${KINDS.join(', ')})`,
        );
    }
  });
  if (problems.length) throw new ManifestError(file, problems);
  for (const s of out.services)
    if (s.gateway) s.trafficPolicy = configPolicy.get(classConfig.get(gatewayClass.get(s.gateway)!) ?? '') ?? 'Cluster';
  return out;
}

/** Cilium's lease name for a service's L2 announcement. */
export const leaseName = (s: Service) => `cilium-l2announce-${s.namespace}-${s.name}`;

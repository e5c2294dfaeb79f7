import { parseAllDocuments } from 'yaml';
import { controlPlane, managementAddress } from '../../lab/hosts.ts';
import { AddressError, defineAddressSource, GATEWAY_SERVICE, type Vip } from './source.ts';

const PREFIX = '/l2lab/ipam/';

interface Meta {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { infrastructure?: { labels?: Record<string, string> } };
}

/**
 * namespace/name → labels of every Service in the manifests, and of the Service Cilium makes for
 * each Gateway (cilium-gateway-<name>, labelled from spec.infrastructure.labels).
 */
function serviceLabels(manifests: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const doc of parseAllDocuments(manifests)) {
    const o = doc.toJS() as Meta | null;
    const ns = o?.metadata?.namespace ?? 'default';
    if (o?.kind === 'Service' && o.metadata?.name) out.set(`${ns}/${o.metadata.name}`, o.metadata.labels ?? {});
    if (o?.kind === 'Gateway' && o.metadata?.name)
      out.set(`${ns}/cilium-gateway-${o.metadata.name}`, o.spec?.infrastructure?.labels ?? {});
  }
  return out;
}

export default defineAddressSource({
  name: 'etcd-ipam',
  description:
    "the reference announcer's agreed allocation, read from etcd on the control plane (labels from its manifests)",
  when: 'after-install',
  async find(lab, provider) {
    const cp = controlPlane(lab);
    const ep = `http://${managementAddress(lab, cp)}:2379`;
    const r = await provider.exec(lab, cp.name, [
      'sh',
      '-c',
      `ETCDCTL_API=3 etcdctl --endpoints ${ep} get --prefix ${PREFIX} && echo ---- && cat /etc/l2lab/announcer/manifests.yaml`,
    ]);
    if (r.exitCode !== 0)
      throw new AddressError(`cannot read the agreed addresses from etcd on ${cp.name}: ${r.stderr.trim()}`);
    const [kv, manifests] = r.stdout.split('\n----\n');
    const labels = serviceLabels(manifests ?? '');
    const lines = kv!.trim().split('\n').filter(Boolean);
    const vips: Vip[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const service = lines[i]!.slice(PREFIX.length);
      const a = JSON.parse(lines[i + 1]!) as { pool?: string; ipv4?: string; ipv6?: string };
      const domain = lab.domains.find((d) => d.pool.name === a.pool)?.name;
      vips.push({ service, labels: labels.get(service) ?? {}, ipv4: a.ipv4, ipv6: a.ipv6, ...(domain && { domain }) });
    }
    vips.sort(
      (a, b) =>
        Number(b.service === GATEWAY_SERVICE) - Number(a.service === GATEWAY_SERVICE) ||
        a.service.localeCompare(b.service),
    );
    if (!vips.length) throw new AddressError('the subject recorded no addresses in etcd (is it running?)');
    return vips;
  },
});

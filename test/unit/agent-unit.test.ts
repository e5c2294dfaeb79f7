// Pure parts of the announcer: frames, allocation, policy.
import test from 'ava';
import { allocate, poolSpans, serviceKey } from '../../agent/ipam.ts';
import type { Policy, Pool, Service } from '../../agent/manifests.ts';
import { leaseName, ManifestError, parseManifests } from '../../agent/manifests.ts';
import {
  arpReply,
  arpRequest,
  gratuitousArp,
  neighborAdvert,
  neighborSolicit,
  parseFrame,
  unsolicitedNeighborAdvert,
} from '../../agent/packets.ts';
import { announcements, byAddress, hasLocalBackend, policyInterfaces } from '../../agent/policy.ts';
import { Throttled, TokenBucket } from '../../agent/rate-limit.ts';
import { solicitedNodeGroup } from '../../agent/responder.ts';

const A = '02:4c:00:00:01:01',
  B = '02:4c:00:00:01:c8';

test('ARP: request, reply and gratuitous ARP round-trip through the parser', (t) => {
  t.like(parseFrame(arpRequest(B, '198.18.0.200', '198.18.0.100')), {
    kind: 'arp',
    op: 1,
    senderMac: B,
    senderIp: '198.18.0.200',
    targetIp: '198.18.0.100',
  });
  t.like(parseFrame(arpReply(A, '198.18.0.100', B, '198.18.0.200')), {
    kind: 'arp',
    op: 2,
    srcMac: A,
    senderMac: A,
    senderIp: '198.18.0.100',
    targetMac: B,
    targetIp: '198.18.0.200',
  });
  const g = gratuitousArp(A, '198.18.0.100');
  t.is(g.subarray(0, 6).toString('hex'), 'ffffffffffff');
  t.like(parseFrame(g), { kind: 'arp', op: 1, senderIp: '198.18.0.100', targetIp: '198.18.0.100' });
});

function icmpChecksumOk(frame: Buffer): boolean {
  const ip = frame.subarray(14, 54),
    icmp = frame.subarray(54);
  let sum = 0;
  const add = (b: Buffer) => {
    for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) + (b[i + 1] ?? 0);
  };
  add(ip.subarray(8, 40));
  add(Buffer.from([0, 0, (icmp.length >> 8) & 255, icmp.length & 255, 0, 0, 0, 58]));
  add(icmp);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum === 0xffff;
}

test('NDP: solicitation, solicited and unsolicited advertisements; checksums and hop limit 255', (t) => {
  const ns = neighborSolicit(B, 'fd4c:3200:18::200', 'fd4c:3200:18::1:1');
  t.is(ns.subarray(0, 6).toString('hex'), '3333ff010001', 'to the solicited-node multicast MAC');
  t.like(parseFrame(ns), {
    kind: 'ns',
    srcIp: 'fd4c:3200:18::200',
    dstIp: 'ff02::1:ff01:1',
    target: 'fd4c:3200:18::1:1',
    sourceLinkAddr: B,
  });
  const na = neighborAdvert(A, 'fd4c:3200:18::1:1', B, 'fd4c:3200:18::200');
  t.like(parseFrame(na), {
    kind: 'na',
    srcIp: 'fd4c:3200:18::1:1',
    target: 'fd4c:3200:18::1:1',
    solicited: true,
    override: true,
    targetLinkAddr: A,
  });
  const una = unsolicitedNeighborAdvert(A, 'fd4c:3200:18::1:1');
  t.like(parseFrame(una), { kind: 'na', solicited: false, override: true });
  // Broken fixtures only (Cilium before #46079): no Override flag, or no target link-layer address.
  const noO = unsolicitedNeighborAdvert(A, 'fd4c:3200:18::1:1', { override: false, targetLinkAddr: true });
  t.like(parseFrame(noO), { kind: 'na', override: false, targetLinkAddr: A });
  const noOpt = unsolicitedNeighborAdvert(A, 'fd4c:3200:18::1:1', { override: true, targetLinkAddr: false });
  t.like(parseFrame(noOpt), { kind: 'na', override: true, targetLinkAddr: undefined });
  t.is(noOpt.length, 14 + 40 + 24, 'the message ends after the target address');
  for (const f of [ns, na, una, noO, noOpt]) {
    t.true(icmpChecksumOk(f));
    t.is(f[14 + 7], 255);
  }
  t.is(parseFrame(Buffer.alloc(10)), undefined);
});

test("a VIP's solicited-node group (RFC 4291 §2.7.1): ff02::1:ff and its last 24 bits", (t) => {
  t.is(solicitedNodeGroup('fd4c:3200:18::1:1'), 'ff02::1:ff01:1');
  t.is(solicitedNodeGroup('fd4c:3200:18::1:0'), 'ff02::1:ff01:0');
  t.is(solicitedNodeGroup('2001:db8::abcd:ef12'), 'ff02::1:ffcd:ef12');
});

const pool = (blocks: Pool['blocks'], extra: Partial<Pool> = {}): Pool => ({
  name: 'p',
  blocks,
  allowFirstLastIPs: false,
  disabled: false,
  ...extra,
});
const svc = (name: string, labels = { ippool: 'l2announced' }, ns = 'default'): Service => ({
  namespace: ns,
  name,
  labels,
  loadBalancer: true,
  externalIPs: [],
  ports: ['80/TCP'],
  trafficPolicy: 'Cluster',
});

test('allocation: deterministic, dual-stack, stable, selector honoured, CIDR ends skipped', (t) => {
  const p = pool([{ start: '198.18.0.100', stop: '198.18.0.102' }, { cidr: 'fd00::/126' }], {
    serviceSelector: { matchLabels: { ippool: 'l2announced' } },
  });
  const services = [svc('b'), svc('a'), svc('other', { ippool: 'no' })];
  const first = allocate([p], services, {});
  t.deepEqual(first, {
    'default/a': { pool: 'p', ipv4: '198.18.0.100', ipv6: 'fd00::1' },
    'default/b': { pool: 'p', ipv4: '198.18.0.101', ipv6: 'fd00::2' },
  });
  t.deepEqual(allocate([p], [...services].reverse(), {}), first, 'order of the manifests does not matter');
  const withNew = allocate([p], [svc('0new'), ...services], first);
  t.deepEqual(withNew['default/a'], first['default/a'], 'existing allocations are kept');
  t.is(withNew['default/0new']!.ipv4, '198.18.0.102');
  const v4only = pool([{ start: '198.18.0.100', stop: '198.18.0.102' }], { serviceSelector: p.serviceSelector });
  t.deepEqual(
    allocate([v4only], [svc('a')], first)['default/a'],
    { pool: 'p', ipv4: '198.18.0.100' },
    'an address its pool no longer has is not kept',
  );
  const full = allocate([p], [svc('x'), svc('y'), svc('z'), svc('zz')], {});
  t.is(full['default/zz'], undefined, 'no address left: none given');
  t.deepEqual(
    poolSpans(pool([{ cidr: '198.18.0.0/30' }])).map((s) => [s.first, s.last]),
    [[3323068417n, 3323068418n]],
  );
  t.deepEqual(
    poolSpans(pool([{ cidr: '198.18.0.0/30' }], { allowFirstLastIPs: true })).map((s) => s.last - s.first),
    [3n],
  );
});

test('a pool without allowFirstLastIPs hands out the first and last address of a CIDR (Cilium ≥ 1.16); No reserves them', (t) => {
  const doc = (extra: string) =>
    `apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata: {name: p}\nspec:\n  blocks: [{cidr: "fd00::/126"}]\n${extra}`;
  const unset = parseManifests(doc(''), 'm.yaml').pools[0]!;
  t.true(unset.allowFirstLastIPs);
  t.is(allocate([unset], [svc('a')], {})['default/a']!.ipv6, 'fd00::');
  const no = parseManifests(doc('  allowFirstLastIPs: "No"\n'), 'm.yaml').pools[0]!;
  t.is(allocate([no], [svc('a')], {})['default/a']!.ipv6, 'fd00::1');
});

test('a sharing key (Cilium LB-IPAM): one address for services whose ports differ, announced under one lease', (t) => {
  const p = pool([{ start: '198.18.0.100', stop: '198.18.0.109' }]);
  const shared = (name: string, ns: string, ports: string[], namespaces: string[] = [], key = 'k'): Service => ({
    ...svc(name, undefined, ns),
    sharing: { key, namespaces },
    ports,
  });
  const gw = shared('cilium-gateway-central', 'kube-system', ['80/TCP'], ['*']);
  const web = shared('web', 'default', ['8080/TCP'], ['*']);
  const closed = shared('closed', 'other', ['9090/TCP']); // allows no other namespace
  const clash = shared('clash', 'zz', ['80/TCP'], ['*']); // port 80 is the Gateway's
  const a = allocate([p], [clash, closed, gw, web], {});
  const ip = (k: string) => a[k]!.ipv4;
  t.deepEqual(
    [ip('default/web'), ip('kube-system/cilium-gateway-central'), ip('other/closed'), ip('zz/clash')],
    ['198.18.0.100', '198.18.0.100', '198.18.0.101', '198.18.0.102'],
  );
  // A record from a v4-only pool gets the IPv6 address the pool offers again; the v4 one stays.
  const dual = pool([{ start: '198.18.0.100', stop: '198.18.0.109' }, { cidr: 'fd00::/120' }]);
  t.deepEqual(allocate([dual], [svc('old')], { 'default/old': { pool: 'p', ipv4: '198.18.0.105' } })['default/old'], {
    pool: 'p',
    ipv4: '198.18.0.105',
    ipv6: 'fd00::1',
  });
  const parsed = parseManifests(
    `apiVersion: v1
kind: Service
metadata:
  name: web
  annotations: { lbipam.cilium.io/sharing-key: k, lbipam.cilium.io/sharing-cross-namespace: "*" }
spec: { type: LoadBalancer, ports: [{ port: 8080 }, { port: 53, protocol: UDP }] }
`,
    'x.yaml',
  ).services[0]!;
  t.deepEqual([parsed.sharing, parsed.ports], [{ key: 'k', namespaces: ['*'] }, ['8080/TCP', '53/UDP']]);

  const ann = (s: Service, vips: string[], interfaces = ['eth1']) => ({ service: s, vips, interfaces });
  const grouped = byAddress([
    ann(web, ['198.18.0.100', 'fd00::1']),
    ann(gw, ['198.18.0.100', 'fd00::1']),
    ann(clash, ['198.18.0.102']),
  ]);
  t.deepEqual(
    grouped.map((g) => [serviceKey(g.service), g.vips, g.sharedWith]),
    [
      ['default/web', ['198.18.0.100', 'fd00::1'], ['kube-system/cilium-gateway-central']],
      ['zz/clash', ['198.18.0.102'], undefined],
    ],
  );
  // A third service that shares one address with each of two others joins all three.
  const three = byAddress([ann(gw, ['a']), ann(web, ['b']), ann(clash, ['a', 'b'], ['eth2'])]);
  t.is(three.length, 1);
  t.deepEqual(three[0]!.interfaces, ['eth1', 'eth2']);
});

test('policy: nodeSelector, serviceSelector, interfaces as regular expressions, externalIPs', (t) => {
  const policy: Policy = {
    name: 'x',
    nodeSelector: { matchExpressions: [{ key: 'datacenter', operator: 'In', values: ['dc1', 'dc2'] }] },
    serviceSelector: { matchLabels: { ippool: 'l2announced' } },
    interfaces: ['^eth1$'],
    loadBalancerIPs: true,
    externalIPs: false,
  };
  const s = { ...svc('a'), externalIPs: ['198.18.0.50'] };
  const alloc = { 'default/a': { pool: 'p', ipv4: '198.18.0.100', ipv6: 'fd00::1' } };
  t.deepEqual(
    announcements([policy], [s], alloc, { datacenter: 'dc1' }, ['lo', 'eth0', 'eth1']).map((a) => [
      a.vips,
      a.interfaces,
    ]),
    [[['198.18.0.100', 'fd00::1'], ['eth1']]],
  );
  t.deepEqual(
    announcements([policy], [s], alloc, { datacenter: 'dc3' }, ['eth0', 'eth1']),
    [],
    'the dc3 node is not eligible',
  );
  t.deepEqual(announcements([{ ...policy, externalIPs: true }], [s], alloc, { datacenter: 'dc2' }, ['eth1'])[0]!.vips, [
    '198.18.0.100',
    'fd00::1',
    '198.18.0.50',
  ]);
  t.deepEqual(
    policyInterfaces({ ...policy, interfaces: [] }, ['lo', 'eth0', 'eth1']),
    ['eth0', 'eth1'],
    'no interfaces: all but lo',
  );
});

test('externalTrafficPolicy Local (Cilium #46399, #48799): only nodes with a backend announce; a Gateway has its Envoy everywhere', (t) => {
  const m = parseManifests(
    `apiVersion: cilium.io/v2alpha1
kind: CiliumL2AnnouncementPolicy
metadata: {name: all}
spec: {interfaces: [eth1], loadBalancerIPs: true}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: shop}
spec: {type: LoadBalancer, externalTrafficPolicy: Local, ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: local, namespace: shop}
spec: {gatewayClassName: cilium-local, listeners: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: cilium-local}
spec:
  controllerName: io.cilium/gateway-controller
  parametersRef: {group: cilium.io, kind: CiliumGatewayClassConfig, name: local, namespace: shop}
---
apiVersion: cilium.io/v2alpha1
kind: CiliumGatewayClassConfig
metadata: {name: local, namespace: shop}
spec: {service: {externalTrafficPolicy: Local}}
`,
    'm.yaml',
  );
  t.deepEqual(
    m.services.map((s) => [s.name, s.trafficPolicy, s.gateway]),
    [
      ['app', 'Local', undefined],
      ['cilium-gateway-local', 'Local', 'shop/local'],
    ],
    "the Gateway's service takes its class's policy",
  );
  const alloc = {
    'shop/app': { pool: 'p', ipv4: '198.18.0.101' },
    'shop/cilium-gateway-local': { pool: 'p', ipv4: '198.18.0.102' },
  };
  const on = (node: string, gateways: 'envoy' | 'endpoints' = 'envoy') =>
    announcements(m.policies, m.services, alloc, {}, ['eth1'], {
      node,
      endpoints: { 'shop/app': ['node02'] },
      gateways,
    }).map((a) => a.service.name);
  t.deepEqual(on('node02'), ['app', 'cilium-gateway-local'], 'the backend node announces both');
  t.deepEqual(on('node01'), ['cilium-gateway-local'], 'no local backend: the Gateway only');
  t.deepEqual(on('node02', 'endpoints'), ['app'], "#48799: the Gateway's synthetic endpoint is on no node");
  t.deepEqual(
    announcements(m.policies, m.services, alloc, {}, ['eth1']).map((a) => a.service.name),
    ['app', 'cilium-gateway-local'],
    'traffic policy ignored (before #46399): everything, everywhere',
  );
  t.false(hasLocalBackend(m.services[0]!, { node: 'node01', endpoints: {}, gateways: 'envoy' }));
});

test('manifests: the tutorial objects; a Gateway becomes cilium-gateway-NAME; bad objects name the field', (t) => {
  const m = parseManifests(
    `apiVersion: cilium.io/v2
kind: CiliumLoadBalancerIPPool
metadata: {name: lb-ip-pool}
spec: {blocks: [{start: 10.0.3.5, stop: 10.0.3.15}], serviceSelector: {matchLabels: {ippool: l2announced}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: central, namespace: kube-system}
spec: {gatewayClassName: cilium, infrastructure: {labels: {ippool: l2announced}}, listeners: []}
`,
    'm.yaml',
  );
  t.is(m.services[0]!.name, 'cilium-gateway-central');
  t.is(leaseName(m.services[0]!), 'cilium-l2announce-kube-system-cilium-gateway-central');
  const e = t.throws(
    () =>
      parseManifests(
        'apiVersion: cilium.io/v2alpha1\nkind: CiliumL2AnnouncementPolicy\nmetadata: {name: x}\nspec: {interfaces: eth1}\n---\nkind: ' +
          'ConfigMap\n',
        'bad.yaml',
      ),
    { instanceOf: ManifestError },
  );
  t.regex(e!.message, /bad.yaml: document 1 \(CiliumL2AnnouncementPolicy\): spec.interfaces: .*array/);
  t.regex(e!.message, /document 2: kind "ConfigMap" is not read by the announcer/);
});

test("the lease client's rate limit: a burst, then a call per 1/qps; a token past the call's deadline fails it at once", (t) => {
  let now = 0;
  const b = new TokenBucket(10, 3, () => now);
  t.deepEqual([b.reserve(1000), b.reserve(1000), b.reserve(1000)], [0, 0, 0], 'the burst');
  t.is(Math.round(b.reserve(1000)), 100, 'then a token every 100 ms');
  t.is(Math.round(b.reserve(1000)), 200, 'reserved: the next caller waits behind it');
  t.throws(() => b.reserve(250), {
    instanceOf: Throttled,
    message: /next call may go in 300 ms, past its 250 ms deadline/,
  });
  now = 1000; // a second later: the bucket refilled to its burst, no more
  t.deepEqual([b.reserve(0), b.reserve(0), b.reserve(0)], [0, 0, 0]);
  t.true(b.reserve(1000) > 0);
  t.is(Math.round(b.waitedMs), 100 + 200 + 100);
});

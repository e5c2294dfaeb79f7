# Stand-in, not the real tool: shared code of l2lab's stand-ins for kubeadm, kubelet, kubectl and cilium-cli.
# They run the cluster path (playbooks/cluster.yaml) on VMs where Kubernetes cannot be downloaded:
# each validates its arguments and files the way the real tool does and prints the real tool's
# output shapes, and together they keep one small "cluster" on the control plane (a JSON store
# served by a stand-in API server), so that order and idempotence mistakes fail here as they would
# on a real cluster. Installed only by the tests (test/standins/repo.ts), never by the real path.
import base64
import fcntl
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time

import yaml

STATE = os.environ.get('L2LAB_STANDIN_STATE', '/var/lib/l2lab-standin')  # the control plane's "etcd"
LOCK = os.path.join(STATE, '.lock')
K8S_VERSION = os.environ.get('L2LAB_STANDIN_K8S', 'v1.34.2')


def die(msg, code=1):
    sys.stderr.write(msg.rstrip('\n') + '\n')
    sys.exit(code)


# libyaml's loader where PyYAML has it (Debian's does): ten times faster on the CRD bundles.
SAFE_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def yaml_docs(stream):
    return [d for d in yaml.load_all(stream, Loader=SAFE_LOADER) if d is not None]


def load_yaml_docs(path):
    try:
        with open(path) as f:
            return yaml_docs(f)
    except FileNotFoundError:
        die(f'open {path}: no such file or directory')
    except yaml.YAMLError as e:
        die(f'error converting YAML to JSON: {e}')


# ---- the store: objects keyed by kind/namespace/name, tokens, Cilium's release ----------------

class Store:
    def __init__(self):
        os.makedirs(STATE, exist_ok=True)
        self.fd = open(LOCK, 'a+')

    def __enter__(self):
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.data = read_state()
        return self.data

    def __exit__(self, *exc):
        if exc[0] is None:
            tmp = os.path.join(STATE, f'.state.{os.getpid()}')
            with open(tmp, 'w') as f:
                json.dump(self.data, f, sort_keys=True)
            os.rename(tmp, os.path.join(STATE, 'state.json'))
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        return False


def read_state():
    try:
        with open(os.path.join(STATE, 'state.json')) as f:
            return json.load(f)
    except FileNotFoundError:
        return {'objects': {}, 'tokens': {}, 'cilium': None, 'crds': {}}


def key(kind, ns, name):
    return f'{kind}/{ns or ""}/{name}'


# Built-in kinds the stand-in API server serves (group/version -> kinds), and their resource names.
BUILTIN = {
    'v1': {'Namespace': 'namespaces', 'Service': 'services', 'ConfigMap': 'configmaps', 'Node': 'nodes',
           'Secret': 'secrets', 'ServiceAccount': 'serviceaccounts', 'Pod': 'pods'},
    'apps/v1': {'Deployment': 'deployments', 'DaemonSet': 'daemonsets'},
    'coordination.k8s.io/v1': {'Lease': 'leases'},
    'apiextensions.k8s.io/v1': {'CustomResourceDefinition': 'customresourcedefinitions'},
    'admissionregistration.k8s.io/v1': {'ValidatingAdmissionPolicy': 'validatingadmissionpolicies',
                                        'ValidatingAdmissionPolicyBinding': 'validatingadmissionpolicybindings'},
}
CLUSTER_SCOPED = {'Namespace', 'Node', 'CustomResourceDefinition', 'GatewayClass', 'CiliumLoadBalancerIPPool',
                  'CiliumL2AnnouncementPolicy', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'}
SHORT = {'ds': 'DaemonSet', 'daemonset': 'DaemonSet', 'daemonsets': 'DaemonSet', 'deploy': 'Deployment',
         'deployment': 'Deployment', 'deployments': 'Deployment', 'cm': 'ConfigMap', 'configmap': 'ConfigMap',
         'node': 'Node', 'nodes': 'Node', 'no': 'Node', 'lease': 'Lease', 'leases': 'Lease', 'svc': 'Service',
         'service': 'Service', 'gateway': 'Gateway', 'gateways': 'Gateway', 'gtw': 'Gateway',
         'gatewayclass': 'GatewayClass', 'crd': 'CustomResourceDefinition', 'ns': 'Namespace'}
GROUP_OF = {'DaemonSet': 'apps', 'Deployment': 'apps', 'Lease': 'coordination.k8s.io',
            'CustomResourceDefinition': 'apiextensions.k8s.io', 'Gateway': 'gateway.networking.k8s.io',
            'GatewayClass': 'gateway.networking.k8s.io', 'ValidatingAdmissionPolicy': 'admissionregistration.k8s.io',
            'ValidatingAdmissionPolicyBinding': 'admissionregistration.k8s.io'}


def served(state, api_version, kind):
    if kind in BUILTIN.get(api_version, {}):
        return True
    group, _, version = api_version.rpartition('/')
    crd = state['crds'].get(f'{group}/{kind}')
    return bool(crd) and version in crd['versions']


def resource_name(kind):
    for kinds in BUILTIN.values():
        if kind in kinds:
            return kinds[kind]
    return kind.lower() + 's'


def qualified(kind):
    group = GROUP_OF.get(kind)
    return f'{kind.lower()}.{group}' if group else kind.lower()


# ---- bootstrap tokens (kube-system/bootstrap-token-<id> Secrets on a real cluster) --------------

def parse_ttl(s):
    total, num = 0, ''
    for ch in s:
        if ch.isdigit() or ch == '.':
            num += ch
        else:
            total += float(num or 0) * {'h': 3600, 'm': 60, 's': 1}[ch]
            num = ''
    return total


def add_token(state, token, ttl='24h0m0s', usages=('signing', 'authentication'),
              groups=('system:bootstrappers:kubeadm:default-node-token',)):
    tid, secret = token.split('.')
    seconds = parse_ttl(ttl)
    state['tokens'][tid] = {'secret': secret, 'expires': time.time() + seconds if seconds else None,
                            'usages': list(usages), 'groups': list(groups)}


def valid_tokens(state):
    now = time.time()
    # The token cleaner deletes expired tokens.
    return {i: t for i, t in state['tokens'].items() if t['expires'] is None or t['expires'] > now}


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def jws_detached(payload, token_id, secret):
    """kubeadm's cluster-info signature: a detached compact JWS, HS256 with the token secret."""
    header = b64url(json.dumps({'alg': 'HS256', 'kid': token_id}, separators=(',', ':')).encode())
    body = b64url(payload.encode())
    sig = hmac.new(secret.encode(), f'{header}.{body}'.encode(), hashlib.sha256).digest()
    return f'{header}..{b64url(sig)}'


def spki_hash(cert_pem):
    pub = subprocess.run(['openssl', 'x509', '-pubkey', '-noout'], input=cert_pem.encode(), capture_output=True,
                         check=True).stdout
    der = subprocess.run(['openssl', 'pkey', '-pubin', '-outform', 'DER'], input=pub, capture_output=True,
                         check=True).stdout
    return 'sha256:' + hashlib.sha256(der).hexdigest()


def kubeconfig(server, ca_pem, user, cert_pem=None, key_pem=None, token=None):
    u = {'token': token} if token else {
        'client-certificate-data': base64.b64encode(cert_pem.encode()).decode(),
        'client-key-data': base64.b64encode(key_pem.encode()).decode()}
    return yaml.safe_dump({
        'apiVersion': 'v1', 'kind': 'Config',
        'clusters': [{'name': 'kubernetes', 'cluster': {
            'certificate-authority-data': base64.b64encode(ca_pem.encode()).decode(), 'server': server}}],
        'contexts': [{'name': f'{user}@kubernetes', 'context': {'cluster': 'kubernetes', 'user': user}}],
        'current-context': f'{user}@kubernetes', 'preferences': {},
        'users': [{'name': user, 'user': u}]}, sort_keys=False)


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def flags(argv, known, bools=()):
    """--name value / --name=value flags and positionals; an unknown flag fails as cobra does."""
    out, pos, i = {}, [], 0
    while i < len(argv):
        a = argv[i]
        if a.startswith('-') and a != '-':
            name, eq, val = a.lstrip('-').partition('=')
            if name in bools:
                out[name] = (val or 'true') == 'true'
            elif name in known or name in ('f', 'n', 'o', 'p', 'l'):
                if not eq:
                    i += 1
                    if i >= len(argv):
                        die(f'Error: flag needs an argument: --{name}')
                    val = argv[i]
                out.setdefault(name, []).append(val)
            else:
                die(f'Error: unknown flag: --{name}\nSee \'{os.path.basename(sys.argv[0])} --help\' for usage.')
        else:
            pos.append(a)
        i += 1
    return out, pos


def one(f, *names, default=None):
    for n in names:
        if n in f:
            return f[n][-1]
    return default


# ---- what controllers do: node pod CIDRs, Cilium's operator (Gateways, the LB IPAM) -------------

def allocate_pod_cidrs(state, node):
    """kube-controller-manager's node IPAM: the next /24 (IPv4) and /64 (IPv6) of each cluster CIDR."""
    import ipaddress
    cidrs = []
    for c in state.get('cluster', {}).get('pods', []):
        net = ipaddress.ip_network(c)
        size = 24 if net.version == 4 else 64
        if size - net.prefixlen > 16 or size < net.prefixlen:
            state.setdefault('events', []).append(
                f'kube-controller-manager: Controller: Invalid value: "{c}": New CIDR set failed; the node CIDR size '
                'is too big')
            return
        used = {o['spec'].get('podCIDRs', [None, None])[0 if net.version == 4 else -1]
                for o in state['objects'].values() if o['kind'] == 'Node'}
        for sub in net.subnets(new_prefix=size):
            if str(sub) not in used:
                cidrs.append(str(sub))
                break
    node['spec']['podCIDRs'] = cidrs
    if cidrs:
        node['spec']['podCIDR'] = cidrs[0]


def register_node(state, name, ips, labels=None):
    k = key('Node', '', name)
    node = state['objects'].get(k) or {
        'apiVersion': 'v1', 'kind': 'Node',
        'metadata': {'name': name, 'labels': {'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux',
                                              **(labels or {})}},
        'spec': {}, 'status': {'addresses': [{'type': 'InternalIP', 'address': a} for a in ips]}}
    if not node['spec'].get('podCIDRs'):
        allocate_pod_cidrs(state, node)
    state['objects'][k] = node


def pool_addresses(pool):
    import ipaddress
    for b in pool.get('spec', {}).get('blocks', []):
        if 'cidr' in b:
            net = ipaddress.ip_network(b['cidr'])
            yield from (net.hosts() if net.num_addresses > 2 else iter(net))
        else:
            a, z = ipaddress.ip_address(b['start']), ipaddress.ip_address(b['stop'])
            while a <= z:
                yield a
                a += 1


def selects(selector, labels):
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get('matchLabels') or {}).items()):
        return False
    for e in selector.get('matchExpressions') or []:
        have = labels.get(e['key'])
        op = e['operator']
        if (op == 'In' and have not in e.get('values', [])) or (op == 'NotIn' and have in e.get('values', [])) or \
                (op == 'Exists' and have is None) or (op == 'DoesNotExist' and have is not None):
            return False
    return True


def reconcile(state):
    """Cilium's operator, as far as the cluster path sees it: each Gateway of a class it controls (the
    chart makes GatewayClass `cilium`, or the lab does) gets a LoadBalancer service with addresses from
    a pool (both families where the class asks) and is Programmed."""
    c = state.get('cilium')
    objs = state['objects']
    if not c:
        return
    config = c['config']  # the rendered cilium-config, as the operator reads it
    if config.get('enable-gateway-api') != 'true' or not c.get('gatewayCRDsAtStart'):
        return  # the operator checks the Gateway API CRDs when it starts, and only then
    v6 = config.get('enable-ipv6') == 'true'
    taken = {a for o in objs.values() if o['kind'] == 'Service'
             for a in (x.get('ip') for x in (o.get('status', {}).get('loadBalancer', {}).get('ingress') or [])) if a}
    for gk, gw in list(objs.items()):
        if gw['kind'] != 'Gateway':
            continue
        conds = {'Accepted': 'False', 'Programmed': 'False'}
        cls = objs.get(key('GatewayClass', '', gw['spec'].get('gatewayClassName', '')))
        families = ['IPv4']
        ok = cls and cls['spec'].get('controllerName') == 'io.cilium/gateway-controller'
        ref = (cls or {}).get('spec', {}).get('parametersRef')
        if ok and ref:
            cfg = objs.get(key('CiliumGatewayClassConfig', ref.get('namespace'), ref['name']))
            ok = cfg is not None
            if cfg:
                svc = cfg['spec'].get('service') or {}
                if svc.get('ipFamilyPolicy') in ('PreferDualStack', 'RequireDualStack'):
                    families = svc.get('ipFamilies') or ['IPv4', 'IPv6']
        if ok:
            conds['Accepted'] = 'True'
            labels = (gw['spec'].get('infrastructure') or {}).get('labels') or {}
            ns, name = gw['metadata'].get('namespace', 'default'), gw['metadata']['name']
            sk = key('Service', ns, f'cilium-gateway-{name}')
            svc = objs.get(sk) or {'apiVersion': 'v1', 'kind': 'Service',
                                   'metadata': {'name': f'cilium-gateway-{name}', 'namespace': ns, 'labels': labels},
                                   'spec': {'type': 'LoadBalancer', 'ipFamilies': families,
                                            'ipFamilyPolicy': 'PreferDualStack' if len(families) > 1 else 'SingleStack'},
                                   'status': {'loadBalancer': {'ingress': []}}}
            have = [x['ip'] for x in svc['status']['loadBalancer']['ingress']]
            for fam in families:
                if fam == 'IPv6' and not v6:
                    continue
                if any((':' in a) == (fam == 'IPv6') for a in have):
                    continue
                for pool in (o for o in objs.values() if o['kind'] == 'CiliumLoadBalancerIPPool'):
                    if not selects(pool['spec'].get('serviceSelector'), labels):
                        continue
                    free = next((str(a) for a in pool_addresses(pool)
                                 if (a.version == 6) == (fam == 'IPv6') and str(a) not in taken), None)
                    if free:
                        have.append(free)
                        taken.add(free)
                        break
            svc['status']['loadBalancer']['ingress'] = [{'ip': a} for a in have]
            objs[sk] = svc
            if have:
                conds['Programmed'] = 'True'
                gw['status'] = {'addresses': [{'type': 'IPAddress', 'value': a} for a in have]}
        gw.setdefault('status', {})['conditions'] = [
            {'type': t, 'status': s, 'reason': t if s == 'True' else 'Pending', 'message': '',
             'lastTransitionTime': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} for t, s in conds.items()]


# ---- Gateway API's safe-upgrades ValidatingAdmissionPolicy (in the v1.5+ CRD bundles) ----------
# The real API server evaluates its CEL; the stand-in evaluates the same two rules, reading the
# version patterns from the stored policy itself: a gateway.networking.k8s.io CRD must carry a
# bundle-version that no pattern matches (CEL matches() is an unanchored RE2 search), unless it is
# a release candidate; and an experimental CRD may not replace a standard one.
BUNDLE = 'gateway.networking.k8s.io/bundle-version'
CHANNEL = 'gateway.networking.k8s.io/channel'


def safe_upgrades_denial(state, crd):
    import re
    name = 'safe-upgrades.gateway.networking.k8s.io'
    vap = state['objects'].get(key('ValidatingAdmissionPolicy', '', name))
    if not vap or key('ValidatingAdmissionPolicyBinding', '', name) not in state['objects']:
        return None
    if crd['spec'].get('group') != 'gateway.networking.k8s.io':
        return None
    ann = crd['metadata'].get('annotations') or {}
    old = state['objects'].get(key('CustomResourceDefinition', '', crd['metadata']['name']))
    old_ann = ((old or {}).get('metadata') or {}).get('annotations') or {}
    checks = vap['spec']['validations']
    if old and ann.get(CHANNEL) != 'standard' and old_ann.get(CHANNEL) != 'experimental':
        return checks[0]['message']
    version = ann.get(BUNDLE)
    patterns = re.findall(r"matches\(object\.metadata\.annotations\['gateway\.networking\.k8s\.io/bundle-version'\], '([^']+)'\)",
                          checks[1]['expression'])
    refused = [p.replace('\\\\', '\\') for p in patterns if p != '-(rc)']
    if version is None or (not re.search('-(rc)', version) and any(re.search(p, version) for p in refused)):
        return checks[1]['message']
    return None

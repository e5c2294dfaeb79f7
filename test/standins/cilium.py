# Stand-in, not the real tool: cilium-cli for l2lab's tests (version, install, upgrade, status). Output
# shapes from cilium-cli's cli/version.go and its install/status commands; it acts on the stand-in
# cluster: install renders Cilium's real chart with the real helm (the chart from --chart-directory or
# the --repository, as cilium-cli resolves it; l2lab's values under cilium-cli's own additions; the
# API versions the store serves), keeps the rendered cilium-config, which the agents and operator
# read, and registers Cilium's CRDs and workloads; it refuses a second install as Helm does,
# and upgrade refuses a cluster without a release. The operator's Gateway API controller follows
# l2lab's version table (playbooks/files/cilium/versions.yaml, shipped beside this file as JSON):
# it starts only when every group/version the version's operator requires is served when it starts,
# and the operator crash-loops where an optional one is listed but not served (cilium/cilium#45139).
import json
import os
import sys
import time

sys.path.insert(0, '/usr/lib/l2lab-standins')
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from l2lstandin import yaml_docs, STATE, Store, die, flags, key, load_yaml_docs, one, read_state, reconcile

CLI = 'v0.18.9'
DEFAULT = 'v1.18.3'
CRDS = {  # group/kind → versions: what Cilium's operator registers
    'cilium.io/CiliumLoadBalancerIPPool': ['v2', 'v2alpha1'],
    'cilium.io/CiliumL2AnnouncementPolicy': ['v2alpha1'],
    'cilium.io/CiliumGatewayClassConfig': ['v2alpha1'],
    'cilium.io/CiliumNode': ['v2'],
    'cilium.io/CiliumEndpoint': ['v2'],
}
GATEWAY_CRDS = ['Gateway', 'GatewayClass', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant']


def kubeconfig_needed():
    kc = os.environ.get('KUBECONFIG', os.path.expanduser('~/.kube/config'))
    if not os.path.exists(kc):
        die(f'Error: Unable to create Kubernetes client: stat {kc}: no such file or directory')


def values_of(f):
    vals = {}
    for p in f.get('f', []) + f.get('values', []):
        for d in load_yaml_docs(p):
            if not isinstance(d, dict):
                die(f'Error: failed to parse {p}: error unmarshaling JSON: json: cannot unmarshal array into Go value '
                    'of type map[string]interface {}')
            vals.update(d)
    return vals


def workloads(st, version):
    img = f'quay.io/cilium/cilium:v{version}'
    for kind, name, image in (('DaemonSet', 'cilium', img), ('DaemonSet', 'cilium-envoy',
                                                              'quay.io/cilium/cilium-envoy:v1.35'),
                              ('Deployment', 'cilium-operator', f'quay.io/cilium/operator-generic:v{version}')):
        st['objects'][f'{kind}/kube-system/{name}'] = {
            'apiVersion': 'apps/v1', 'kind': kind, 'metadata': {'name': name, 'namespace': 'kube-system'},
            'spec': {'template': {'spec': {'containers': [{'name': name, 'image': image}]}}}}
    for gk, versions in CRDS.items():
        st['crds'].setdefault(gk, {'versions': {v: {} for v in versions}})


def version_row(version):
    """The version table's row, as playbooks/cluster/versions.ts ciliumRow finds it."""
    here = os.path.join(os.path.dirname(os.path.realpath(__file__)), 'cilium-versions.json')
    with open(os.environ.get('L2LAB_STANDIN_VERSIONS') or here) as f:
        rows = json.load(f)['cilium']
    if version in rows:
        return rows[version]
    if '-' in version:
        return None
    num = lambda v: tuple(int(x) for x in v.split('.'))
    same = [k for k in rows if '-' not in k and k.split('.')[:2] == version.split('.')[:2] and num(k) < num(version)]
    return rows[max(same, key=num)] if same else None


def operator_gateway(st, version):
    """What the operator decides when it starts: 'ok', 'off' (a required group/version not served), or
    the error it crash-loops with."""
    def crd(gvr):
        group, ver, plural = gvr.split('/')
        c = next((c for k, c in st['crds'].items() if k.split('/')[0] == group and c.get('plural') == plural), None)
        return (c is not None and ver in c.get('listed', [])), (c is not None and ver in c['versions'])
    row = version_row(version)
    if row is None:  # not in the table: the kinds alone, as before the table
        return 'ok' if all(f'gateway.networking.k8s.io/{k}' in st['crds'] for k in GATEWAY_CRDS) else 'off'
    if not all(crd(r)[1] for r in row['operator']['requires']):
        return 'off'
    for o in row['operator'].get('optional', []):
        listed, served = crd(o)
        if listed and not served:
            group, ver, plural = o.split('/')
            return (f'failed to create gateway controller: failed to setup reconciler: no matches for kind '
                    f'"{plural}" in version "{group}/{ver}"')
    return 'ok'


HELM_REPOSITORY = 'https://helm.cilium.io'


def helm_bin():
    return os.environ.get('L2LAB_STANDIN_HELM') or os.path.join(os.path.dirname(os.path.realpath(__file__)), 'helm')


def chart_of(f, version):
    """The chart as cilium-cli resolves it (internal/helm ResolveHelmChartVersion): a --chart-directory,
    else the --repository (default helm.cilium.io), pulled once into ~/.cache/cilium-cli."""
    import urllib.error
    import urllib.parse
    import urllib.request
    import yaml
    if one(f, 'chart-directory'):
        return one(f, 'chart-directory')
    repo = (one(f, 'repository') or HELM_REPOSITORY).rstrip('/')
    if not repo.startswith(('http://', 'https://')):
        die(f'Error: Unable to install Cilium: could not find protocol handler for: {repo.split(":")[0]} '
            '(the stand-in reads http(s) repositories only)')
    cache = os.path.join(os.path.expanduser('~/.cache'), 'cilium-cli')
    os.makedirs(cache, exist_ok=True)
    tgz = os.path.join(cache, f'cilium-{version}.tgz')
    if os.path.exists(tgz):
        return tgz
    try:
        with urllib.request.urlopen(f'{repo}/index.yaml', timeout=30) as r:
            index = yaml.safe_load(r.read())
        entry = next((e for e in index.get('entries', {}).get('cilium', []) if e.get('version') == version), None)
        if entry is None:
            die(f'Error: Unable to install Cilium: chart "cilium" version "{version}" not found in {repo} repository')
        with urllib.request.urlopen(urllib.parse.urljoin(f'{repo}/', entry['urls'][0]), timeout=60) as r:
            data = r.read()
    except (urllib.error.URLError, OSError) as e:
        die(f'Error: Unable to install Cilium: looks like "{repo}" is not a valid chart repository or cannot be '
            f'reached: {e}')
    with open(tgz + '.part', 'wb') as out:
        out.write(data)
    os.rename(tgz + '.part', tgz)
    return tgz


def cli_values(st, vals):
    """l2lab's values under what cilium-cli v0.18 adds for a cluster of no special kind (install/helm.go,
    autodetect.go): one operator replica, the kubeconfig's cluster name, the tunnel datapath."""
    import copy
    out = copy.deepcopy(vals)
    out.setdefault('operator', {}).setdefault('replicas', 1)
    out.setdefault('cluster', {}).setdefault('name', st['cluster']['name'].replace('_', '-').replace('.', '-'))
    if 'routingMode' not in out:
        out['routingMode'] = 'tunnel'
        out.setdefault('tunnelProtocol', 'vxlan')
    return out


def render(st, f, version, vals):
    """helm template of the chart with the merged values and the API versions the store serves; helm's
    own error reaches the user as cilium-cli passes it on. Returns (manifests, cilium-config)."""
    import subprocess
    import tempfile
    import yaml
    chart = chart_of(f, version)
    api = [f'{k.split("/")[0]}/{v}/{k.split("/")[1]}' for k, c in st['crds'].items() for v in c['versions']]
    with tempfile.NamedTemporaryFile('w', suffix='.yaml') as tf:
        yaml.safe_dump(cli_values(st, vals), tf)
        tf.flush()
        r = subprocess.run([helm_bin(), 'template', 'cilium', chart, '--namespace', 'kube-system', '-f', tf.name,
                            *[x for a in api for x in ('--api-versions', a)]],
                           capture_output=True, text=True, env={'PATH': os.environ.get('PATH', ''), 'HOME': '/tmp'})
    if r.returncode:
        die(f'Error: Unable to install Cilium: {r.stderr.strip().removeprefix("Error: ")}')
    docs = yaml_docs(r.stdout)
    config = next((d.get('data') or {} for d in docs if d.get('kind') == 'ConfigMap'
                   and d['metadata']['name'] == 'cilium-config'), None)
    if config is None:
        die('Error: Unable to install Cilium: the chart rendered no ConfigMap cilium-config')
    return r.stdout, docs, config


def install(argv, upgrade):
    f, _ = flags(argv, {'version', 'values', 'set', 'namespace', 'wait-duration', 'repository', 'chart-directory'},
                 bools={'wait', 'dry-run'})
    kubeconfig_needed()
    version = (one(f, 'version') or DEFAULT).lstrip('v')
    if one(f, 'chart-directory'):  # cilium-cli takes the version from the chart then
        import yaml
        try:
            with open(os.path.join(one(f, 'chart-directory'), 'Chart.yaml')) as cf:
                version = str(yaml.safe_load(cf)['version'])
        except OSError as e:
            die(f'Error: Unable to install Cilium: failed to load Helm chart directory {one(f, "chart-directory")}: {e}')
    vals = values_of(f)
    with Store() as st:
        if 'cluster' not in st:
            die('Error: Unable to install Cilium: Kubernetes cluster unreachable')
        if upgrade and not st.get('cilium'):
            die(f'Error: Unable to upgrade Cilium: "cilium" has no deployed releases')
        if not upgrade and st.get('cilium'):
            die('Error: Unable to install Cilium: cannot re-use a name that is still in use')
        print(f'ℹ️  Using Cilium version {version}')
        if not upgrade:
            print(f'🔮 Auto-detected cluster name: {st["cluster"]["name"]}')
            if 'DaemonSet/kube-system/kube-proxy' in st['objects']:
                print('🔮 Auto-detected kube-proxy has been installed')
            else:
                print('🔮 Auto-detected kube-proxy has not been installed\nℹ️  Cilium will fully replace all '
                      'functionalities of kube-proxy')
        manifests, docs, config = render(st, f, version, vals)
        with open(os.path.join(STATE, 'cilium-manifests.yaml'), 'w') as out:
            out.write(manifests)
        # What Helm creates besides the workloads that the cluster path reads: GatewayClass cilium.
        for d in docs:
            if d.get('kind') == 'GatewayClass':
                st['objects'][key('GatewayClass', '', d['metadata']['name'])] = d
        # The operator restarts on an upgrade (the playbook's rollout restart), so it looks again then.
        gateway = operator_gateway(st, version)
        st['cilium'] = {'version': version, 'values': vals, 'config': config, 'gatewayCRDsAtStart': gateway == 'ok',
                        **({'operatorCrash': gateway} if gateway not in ('ok', 'off') else {})}
        workloads(st, version)
        reconcile(st)


def ready(st):
    c = st.get('cilium')
    if not c:
        return 'cilium not installed'
    if c.get('operatorCrash'):
        return f'cilium-operator: CrashLoopBackOff: {c["operatorCrash"]}'
    config = c['config']  # what the agents read: the rendered cilium-config
    fams = [4] + ([6] if config.get('enable-ipv6') == 'true' else [])
    if config.get('ipam') == 'kubernetes':
        for o in st['objects'].values():
            if o['kind'] != 'Node':
                continue
            have = {6 if ':' in c2 else 4 for c2 in o['spec'].get('podCIDRs', [])}
            if not set(fams) <= have:
                return (f'cilium-agent on {o["metadata"]["name"]}: Required IPv{min(set(fams) - have)} PodCIDR not '
                        'available (ipam mode kubernetes)')
    return None


def status(argv):
    f, _ = flags(argv, {'wait-duration', 'namespace'}, bools={'wait', 'brief'})
    kubeconfig_needed()
    wait = f.get('wait')
    dur = one(f, 'wait-duration', default='5m')
    seconds = sum(float(n) * {'h': 3600, 'm': 60, 's': 1}[u] for n, u in __import__('re').findall(r'([\d.]+)([hms])', dur))
    deadline = time.time() + (seconds if wait else 0)
    while True:
        st = read_state()
        problem = ready(st)
        if not problem or time.time() >= deadline:
            break
        time.sleep(2)
    nodes = sum(1 for o in st['objects'].values() if o['kind'] == 'Node')
    state = 'OK' if not problem else '1 errors'
    print(f'    /¯¯\\\n /¯¯\\__/¯¯\\    Cilium:             {state}\n \\__/¯¯\\__/    Operator:           OK\n'
          f' /¯¯\\__/¯¯\\    Envoy DaemonSet:    OK\n \\__/¯¯\\__/    Hubble Relay:       disabled\n'
          f'    \\__/       ClusterMesh:        disabled\n\n'
          f'DaemonSet              cilium                   Desired: {nodes}, Ready: {nodes}/{nodes}, Available: {nodes}/{nodes}\n'
          f'DaemonSet              cilium-envoy             Desired: {nodes}, Ready: {nodes}/{nodes}, Available: {nodes}/{nodes}\n'
          f'Deployment             cilium-operator          Desired: 1, Ready: 1/1, Available: 1/1')
    if problem:
        die(f'Errors: cilium   {problem}\nError: Unable to determine status:  timeout while waiting for status to '
            'become successful: context deadline exceeded' if wait else f'Errors: cilium   {problem}')


def version(argv):
    f, _ = flags(argv, set(), bools={'client'})
    print(f'cilium-cli: {CLI} compiled with go1.25.4 on linux/amd64')
    print(f'cilium image (default): {DEFAULT}')
    print('cilium image (stable): unknown')  # it asks GitHub; the lab has no route out
    if f.get('client'):
        return
    c = read_state().get('cilium')
    print(f'cilium image (running): {c["version"]}' if c else
          'cilium image (running): unknown. Unable to obtain cilium version. Reason: release: not found')


def main(argv):
    if not argv:
        die('CLI to install, manage, & troubleshooting Cilium clusters running Kubernetes.')
    cmd, rest = argv[0], argv[1:]
    if cmd == 'version':
        version(rest)
    elif cmd in ('install', 'upgrade'):
        install(rest, cmd == 'upgrade')
    elif cmd == 'status':
        status(rest)
    else:
        die(f'Error: unknown command "{cmd}" for "cilium"')


if __name__ == '__main__':
    main(sys.argv[1:])

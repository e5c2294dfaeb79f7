# Stand-in, not the real tool: kubeadm for l2lab's tests (init, join, token list|create, reset, version).
# Validates the configuration as kubeadm does — known apiVersion and kind, strict field names
# (kubeadm.k8s.io/v1beta4 from cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go), the preflight checks
# the cluster path must satisfy — writes what init and join write (/etc/kubernetes/{admin,kubelet,
# super-admin}.conf, manifests/, pki/, /var/lib/kubelet/config.yaml) and prints kubeadm's output shapes.
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import ssl

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from l2lstandin import (K8S_VERSION, Store, add_token, die, flags, jws_detached, kubeconfig, load_yaml_docs, one,
                        spki_hash, valid_tokens, write)

# Field names per kind (nested mappings); None: any value; ['x']: a list of that shape.
ARG = {'name': None, 'value': None}
COMPONENT = {'extraArgs': [ARG], 'extraVolumes': [{'name': None, 'hostPath': None, 'mountPath': None,
                                                     'readOnly': None, 'pathType': None}], 'extraEnvs': None}
NODE_REG = {'name': None, 'criSocket': None, 'taints': None, 'kubeletExtraArgs': [ARG],
            'ignorePreflightErrors': None, 'imagePullPolicy': None, 'imagePullSerial': None}
ENDPOINT = {'advertiseAddress': None, 'bindPort': None}
TIMEOUTS = {k: None for k in ('controlPlaneComponentHealthCheck', 'kubeletHealthCheck', 'kubernetesAPICall',
                              'etcdAPICall', 'tlsBootstrap', 'discovery', 'upgradeManifests')}
TOKEN = {'token': None, 'description': None, 'ttl': None, 'expires': None, 'usages': None, 'groups': None}
SCHEMA = {
    ('kubeadm.k8s.io/v1beta4', 'InitConfiguration'): {
        'bootstrapTokens': [TOKEN], 'dryRun': None, 'nodeRegistration': NODE_REG, 'localAPIEndpoint': ENDPOINT,
        'certificateKey': None, 'skipPhases': None, 'patches': {'directory': None}, 'timeouts': TIMEOUTS},
    ('kubeadm.k8s.io/v1beta4', 'ClusterConfiguration'): {
        'etcd': {'local': {'imageRepository': None, 'imageTag': None, 'dataDir': None, 'extraArgs': [ARG],
                           'extraEnvs': None, 'serverCertSANs': None, 'peerCertSANs': None},
                 'external': {'endpoints': None, 'caFile': None, 'certFile': None, 'keyFile': None}},
        'networking': {'serviceSubnet': None, 'podSubnet': None, 'dnsDomain': None},
        'kubernetesVersion': None, 'controlPlaneEndpoint': None,
        'apiServer': dict(COMPONENT, certSANs=None), 'controllerManager': COMPONENT, 'scheduler': COMPONENT,
        'dns': {'imageRepository': None, 'imageTag': None, 'disabled': None}, 'proxy': {'disabled': None},
        'certificatesDir': None, 'imageRepository': None, 'featureGates': None, 'clusterName': None,
        'encryptionAlgorithm': None, 'certificateValidityPeriod': None, 'caCertificateValidityPeriod': None},
    ('kubeadm.k8s.io/v1beta4', 'JoinConfiguration'): {
        'dryRun': None, 'nodeRegistration': NODE_REG, 'caCertPath': None,
        'discovery': {'bootstrapToken': {'token': None, 'apiServerEndpoint': None, 'caCertHashes': None,
                                         'unsafeSkipCAVerification': None},
                      'file': {'kubeConfigPath': None}, 'tlsBootstrapToken': None},
        'controlPlane': {'localAPIEndpoint': ENDPOINT, 'certificateKey': None}, 'skipPhases': None,
        'patches': {'directory': None}, 'timeouts': TIMEOUTS},
    # The kubelet's own configuration is passed through; only its type is checked.
    ('kubelet.config.k8s.io/v1beta1', 'KubeletConfiguration'): None,
    ('kubeproxy.config.k8s.io/v1alpha1', 'KubeProxyConfiguration'): None,
}
OLD = {'kubeadm.k8s.io/v1beta1': 'v1.14', 'kubeadm.k8s.io/v1beta2': 'v1.22', 'kubeadm.k8s.io/v1beta3': None}


def strict(obj, schema, gvk, path=''):
    if schema is None or not isinstance(obj, dict):
        return
    for k, v in obj.items():
        if k in ('apiVersion', 'kind') and not path:
            continue
        if k not in schema:
            die(f'error unmarshaling configuration schema.GroupVersionKind{{Group:"{gvk[0].split("/")[0]}", '
                f'Version:"{gvk[0].split("/")[-1]}", Kind:"{gvk[1]}"}}: strict decoding error: unknown field '
                f'"{path}{k}"')
        sub = schema[k]
        if isinstance(sub, list) and isinstance(v, list):
            for i, item in enumerate(v):
                strict(item, sub[0], gvk, f'{path}{k}[{i}].')
        elif isinstance(sub, dict):
            strict(v, sub, gvk, f'{path}{k}.')


def read_config(path, want):
    docs = {}
    for d in load_yaml_docs(path):
        av, kind = d.get('apiVersion', ''), d.get('kind', '')
        if av in OLD and OLD[av]:
            die(f'your configuration file uses an old API spec: "{av}". Please use kubeadm {OLD[av]} instead and '
                f"run 'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the "
                'new, similar spec using a newer API version.')
        if (av, kind) not in SCHEMA:
            die(f'no kind "{kind}" is registered for version "{av}" in scheme '
                '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"')
        strict(d, SCHEMA[(av, kind)], (av, kind))
        docs[kind] = d
    if want not in docs:
        die(f'no {want} found in the configuration file {path}')
    return docs


def preflight(errors):
    if errors:
        msg = '\n'.join(f'\t[ERROR {k}]: {v}' for k, v in errors)
        die('error execution phase preflight: [preflight] Some fatal errors occurred:\n' + msg +
            '\n[preflight] If you know what you are doing, you can make a check non-fatal with '
            '`--ignore-preflight-errors=...`\nTo see the stack trace of this error execute with --v=5 or higher')


def common_checks():
    errors = []
    try:
        if open('/proc/sys/net/ipv4/ip_forward').read().strip() != '1':
            errors.append(('FileContent--proc-sys-net-ipv4-ip_forward',
                           '/proc/sys/net/ipv4/ip_forward contents are not set to 1'))
    except FileNotFoundError:
        errors.append(('FileExisting--proc-sys-net-ipv4-ip_forward', '/proc/sys/net/ipv4/ip_forward does not exist'))
    if subprocess.run(['sh', '-c', 'swapon --show --noheadings | grep -q .']).returncode == 0:
        errors.append(('Swap', 'running with swap on is not supported. Please disable swap'))
    if not os.path.exists('/run/containerd/containerd.sock'):
        errors.append(('CRI', 'container runtime is not running: output: time="…" level=fatal msg="validate service '
                              'connection: validate CRI v1 runtime API for endpoint '
                              '\\"unix:///run/containerd/containerd.sock\\": rpc error: code = Unavailable"'))
    if subprocess.run(['systemctl', 'is-enabled', '-q', 'kubelet']).returncode != 0:
        print("\t[WARNING Service-Kubelet]: kubelet service is not enabled, please run 'systemctl enable kubelet.service'")
    return errors


def node_ips(nodereg):
    for a in nodereg.get('kubeletExtraArgs') or []:
        if a.get('name') == 'node-ip':
            return a['value']
    return ''


def kubelet_files(nodereg, kubelet_cfg):
    args = [f"--{a['name']}={a['value']}" for a in nodereg.get('kubeletExtraArgs') or []]
    write('/var/lib/kubelet/kubeadm-flags.env',
          f'KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock '
          f'--pod-infra-container-image=registry.k8s.io/pause:3.10.1 {" ".join(args)}"\n', 0o644)
    write('/var/lib/kubelet/config.yaml', json.dumps(kubelet_cfg or {
        'apiVersion': 'kubelet.config.k8s.io/v1beta1', 'kind': 'KubeletConfiguration', 'cgroupDriver': 'systemd'}),
        0o644)


def openssl(*args, stdin=None):
    return subprocess.run(['openssl', *args], input=stdin, capture_output=True, text=True, check=True).stdout


def sign(pki, name, cn, org=None, sans=None):
    key = f'{pki}/{name}.key'
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key)
    subj = f'/CN={cn}' + (f'/O={org}' if org else '')
    csr = openssl('req', '-new', '-key', key, '-subj', subj)
    ext = f'{pki}/.{name}.ext'
    with open(ext, 'w') as f:
        f.write('basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
                ('extendedKeyUsage=serverAuth\nsubjectAltName=' + ','.join(sans) + '\n' if sans
                 else 'extendedKeyUsage=clientAuth\n'))
    openssl('x509', '-req', '-CA', f'{pki}/ca.crt', '-CAkey', f'{pki}/ca.key', '-CAcreateserial', '-days', '365',
            '-extfile', ext, '-out', f'{pki}/{name}.crt', stdin=csr)
    os.remove(ext)
    os.chmod(key, 0o600)
    return open(f'{pki}/{name}.crt').read(), open(key).read()


def manifest(name, command):
    return json.dumps({'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': name, 'namespace': 'kube-system'},
                       'spec': {'hostNetwork': True, 'containers': [
                           {'name': name, 'image': f'registry.k8s.io/{name}:{K8S_VERSION}', 'command': command}]}},
                      indent=2)


def init(argv):
    f, _ = flags(argv, {'config', 'skip-phases', 'ignore-preflight-errors', 'v'})
    path = one(f, 'config')
    if not path:
        die('the stand-in takes its settings from --config only (as the cluster path runs kubeadm)')
    docs = read_config(path, 'InitConfiguration')
    ic, cc = docs['InitConfiguration'], docs.get('ClusterConfiguration', {})
    print(f'[init] Using Kubernetes version: {K8S_VERSION}')
    print('[preflight] Running pre-flight checks')
    errors = common_checks()
    for m in ('kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'):
        p = f'/etc/kubernetes/manifests/{m}.yaml'
        if os.path.exists(p):
            errors.append((f'FileAvailable--etc-kubernetes-manifests-{m}.yaml', f'{p} already exists'))
    adv = (ic.get('localAPIEndpoint') or {}).get('advertiseAddress', '')
    port = (ic.get('localAPIEndpoint') or {}).get('bindPort', 6443)
    with socket.socket() as s:
        if s.connect_ex(('127.0.0.1', port)) == 0:
            errors.append((f'Port-{port}', f'Port {port} is in use'))
    preflight(errors)
    net = cc.get('networking') or {}
    pods = [ipaddress.ip_network(c) for c in (net.get('podSubnet') or '').split(',') if c]
    svcs = [ipaddress.ip_network(c) for c in (net.get('serviceSubnet') or '10.96.0.0/12').split(',') if c]
    ips = [ipaddress.ip_address(a) for a in node_ips(ic.get('nodeRegistration') or {}).split(',') if a]
    fams = lambda xs: sorted({x.version for x in xs})
    if len(svcs) > 1 or len(pods) > 1:
        if fams(svcs) != [4, 6] or (pods and fams(pods) != [4, 6]):
            die('networking: dual-stack needs one subnet of each family in podSubnet and serviceSubnet')
        if fams(ips) != [4, 6]:
            die('nodeRegistration.kubeletExtraArgs: node-ip must name one address of each family on a dual-stack '
                'cluster')
    for s6 in [s for s in svcs if s.version == 6]:
        if s6.prefixlen < 108:
            die(f'serviceSubnet: Invalid value: "{s6}": specified serviceSubnet is too large; for 128-bit '
                'addresses, the mask must be >= 108')
    pki = '/etc/kubernetes/pki'
    if os.path.exists(f'{pki}/ca.crt') and os.path.exists(f'{pki}/ca.key'):
        print('[certs] Using existing ca certificate authority')
    elif os.path.exists(f'{pki}/ca.crt'):
        die('[certs] error: external CA mode: the CA key /etc/kubernetes/pki/ca.key is missing and so are the '
            'certificates signed by it')
    else:
        os.makedirs(pki, mode=0o700, exist_ok=True)
        print('[certs] Generating "ca" certificate and key')
        openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f'{pki}/ca.key', '-out', f'{pki}/ca.crt',
                '-days', '3650', '-subj', '/CN=kubernetes')
    ca = open(f'{pki}/ca.crt').read()
    first_svc = [str(next(s.hosts())) for s in svcs]
    sans = ['DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc',
            'DNS:kubernetes.default.svc.cluster.local', f'IP:{adv}'] + [f'IP:{a}' for a in first_svc]
    print('[certs] Generating "apiserver" certificate and key')
    print(f'[certs] apiserver serving cert is signed for DNS names [kubernetes kubernetes.default '
          f'kubernetes.default.svc kubernetes.default.svc.cluster.local] and IPs [{" ".join(first_svc)} {adv}]')
    sign(pki, 'apiserver', 'kube-apiserver', sans=sans)
    server = f'https://{adv}:{port}'
    for conf, cn, org in (('admin.conf', 'kubernetes-admin', 'kubeadm:cluster-admins'),
                          ('super-admin.conf', 'kubernetes-super-admin', 'system:masters'),
                          ('kubelet.conf', f'system:node:{ic["nodeRegistration"].get("name", socket.gethostname())}',
                           'system:nodes')):
        print(f'[kubeconfig] Writing "{conf}" kubeconfig file')
        crt, key = sign(pki, f'.{conf}', cn, org)
        write(f'/etc/kubernetes/{conf}', kubeconfig(server, ca, cn, crt, key))
        os.remove(f'{pki}/.{conf}.crt')
        os.remove(f'{pki}/.{conf}.key')
    print('[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"')
    write('/etc/kubernetes/manifests/etcd.yaml', manifest('etcd', ['etcd', f'--advertise-client-urls=https://{adv}:2379']))
    print('[control-plane] Creating static Pod manifest for "kube-apiserver"')
    write('/etc/kubernetes/manifests/kube-apiserver.yaml', manifest('kube-apiserver', [
        'kube-apiserver', f'--advertise-address={adv}', f'--secure-port={port}',
        f'--service-cluster-ip-range={",".join(map(str, svcs))}', '--client-ca-file=/etc/kubernetes/pki/ca.crt',
        '--tls-cert-file=/etc/kubernetes/pki/apiserver.crt', '--tls-private-key-file=/etc/kubernetes/pki/apiserver.key',
        '--enable-bootstrap-token-auth=true']))
    print('[control-plane] Creating static Pod manifest for "kube-controller-manager"')
    write('/etc/kubernetes/manifests/kube-controller-manager.yaml', manifest('kube-controller-manager', [
        'kube-controller-manager', '--allocate-node-cidrs=true' if pods else '--allocate-node-cidrs=false',
        f'--cluster-cidr={",".join(map(str, pods))}', f'--service-cluster-ip-range={",".join(map(str, svcs))}']))
    print('[control-plane] Creating static Pod manifest for "kube-scheduler"')
    write('/etc/kubernetes/manifests/kube-scheduler.yaml', manifest('kube-scheduler', ['kube-scheduler']))
    print('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
    print('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
    kubelet_files(ic.get('nodeRegistration') or {}, docs.get('KubeletConfiguration'))
    name = (ic.get('nodeRegistration') or {}).get('name') or socket.gethostname()
    with Store() as st:
        st['cluster'] = {'name': cc.get('clusterName', 'kubernetes'), 'server': server, 'ca': ca,
                         'pods': [str(p) for p in pods], 'services': [str(s) for s in svcs]}
        st['pending_nodes'] = [{'name': name, 'ips': [str(i) for i in ips], 'labels': {
            'node-role.kubernetes.io/control-plane': ''}}]
        for t in ic.get('bootstrapTokens') or []:
            add_token(st, t['token'], t.get('ttl', '24h0m0s'), t.get('usages', ()), t.get('groups', ()))
        skip = ic.get('skipPhases') or []
        st['objects'].setdefault('ConfigMap/kube-system/kubeadm-config', {
            'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'kubeadm-config', 'namespace': 'kube-system'},
            'data': {'ClusterConfiguration': json.dumps(cc)}})
        if 'addon/kube-proxy' not in skip and 'addon' not in skip:
            for kind, res in (('DaemonSet', 'kube-proxy'), ('ConfigMap', 'kube-proxy')):
                st['objects'][f'{kind}/kube-system/{res}'] = {
                    'apiVersion': 'apps/v1' if kind == 'DaemonSet' else 'v1', 'kind': kind,
                    'metadata': {'name': res, 'namespace': 'kube-system'}}
    print('[kubelet-start] Starting the kubelet')
    subprocess.run(['systemctl', 'restart', 'kubelet'], check=True)
    print('[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from directory '
          '"/etc/kubernetes/manifests"')
    started = time.time()
    while not healthy(server):
        if time.time() - started > 240:
            die('error execution phase wait-control-plane: could not initialize a Kubernetes cluster: the API server '
                f'at {server} did not become healthy within 4m0s')
        time.sleep(0.5)
    print(f'[api-check] The API server is healthy after {time.time() - started:.3f}s')
    if 'addon/kube-proxy' not in (ic.get('skipPhases') or []):
        print('[addons] Applied essential addon: kube-proxy')
    print('[addons] Applied essential addon: CoreDNS\n\nYour Kubernetes control-plane has initialized successfully!\n\n'
          'To start using your cluster, you need to run the following as a regular user:\n\n  mkdir -p $HOME/.kube\n'
          '  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n')


def healthy(server):
    ctx = ssl.create_default_context(cafile='/etc/kubernetes/pki/ca.crt')
    try:
        return urllib.request.urlopen(f'{server}/healthz', context=ctx, timeout=2).read() == b'ok'
    except Exception:
        return False


def join(argv):
    f, _ = flags(argv, {'config', 'ignore-preflight-errors', 'v'})
    path = one(f, 'config')
    if not path:
        die('the stand-in takes its settings from --config only (as the cluster path runs kubeadm)')
    jc = read_config(path, 'JoinConfiguration')['JoinConfiguration']
    print('[preflight] Running pre-flight checks')
    errors = common_checks()
    for p in ('/etc/kubernetes/kubelet.conf', '/etc/kubernetes/bootstrap-kubelet.conf'):
        if os.path.exists(p):
            errors.append((f'FileAvailable-{p.replace("/", "-")}', f'{p} already exists'))
    if os.path.exists('/etc/kubernetes/pki/ca.crt'):
        errors.append(('FileAvailable--etc-kubernetes-pki-ca.crt', '/etc/kubernetes/pki/ca.crt already exists'))
    preflight(errors)
    bt = (jc.get('discovery') or {}).get('bootstrapToken') or {}
    token, endpoint = bt.get('token', ''), bt.get('apiServerEndpoint', '')
    if '.' not in token:
        die(f'discovery.bootstrapToken.token: Invalid value: "{token}": the bootstrap token is invalid')
    tid, secret = token.split('.')
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    try:
        ci = json.load(urllib.request.urlopen(
            f'https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info', context=insecure, timeout=10))
    except Exception as e:
        die(f'error execution phase preflight: couldn\'t validate the identity of the API Server: Get '
            f'"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": {e}')
    data = ci.get('data', {})
    sig = data.get(f'jws-kubeconfig-{tid}')
    if not sig or sig != jws_detached(data['kubeconfig'], tid, secret):
        die('error execution phase preflight: couldn\'t validate the identity of the API Server: could not find a JWS '
            f'signature in the cluster-info ConfigMap for token ID "{tid}"\nTo see the stack trace of this error '
            'execute with --v=5 or higher')
    import yaml
    kc = yaml.safe_load(data['kubeconfig'])
    import base64
    ca = base64.b64decode(kc['clusters'][0]['cluster']['certificate-authority-data']).decode()
    pins = bt.get('caCertHashes') or []
    if not pins and not bt.get('unsafeSkipCAVerification'):
        die('discovery.bootstrapToken: Invalid value: "": using token-based discovery without caCertHashes can be '
            'unsafe. Set unsafeSkipCAVerification as true in your kubeadm config file or pass '
            '--discovery-token-unsafe-skip-ca-verification flag to continue')
    got = spki_hash(ca)
    if pins and got not in pins:
        die(f'error execution phase preflight: couldn\'t validate the identity of the API Server: cluster CA found in '
            f'cluster-info ConfigMap is invalid: none of the public keys "{got}" are pinned')
    print(f'[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
    nodereg = jc.get('nodeRegistration') or {}
    name = nodereg.get('name') or socket.gethostname()
    ips = [a for a in node_ips(nodereg).split(',') if a]
    server = kc['clusters'][0]['cluster']['server']
    ctx = ssl.create_default_context(cadata=ca)
    ctx.check_hostname = False
    req = urllib.request.Request(f'{server}/api/v1/nodes', method='POST',
                                 data=json.dumps({'metadata': {'name': name}, 'ips': ips}).encode(),
                                 headers={'Authorization': f'Bearer {token}', 'Content-Type': 'application/json'})
    try:
        urllib.request.urlopen(req, context=ctx, timeout=10)
    except urllib.error.HTTPError as e:
        die(f'error execution phase kubelet-start: TLS bootstrap: {e.read().decode().strip()}')
    write('/etc/kubernetes/pki/ca.crt', ca, 0o644)
    print('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
    print('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
    kubelet_files(nodereg, None)
    write('/etc/kubernetes/kubelet.conf', kubeconfig(server, ca, f'system:node:{name}', token=token))
    print('[kubelet-start] Starting the kubelet')
    subprocess.run(['systemctl', 'restart', 'kubelet'], check=True)
    print('[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap\n\nThis node has joined the cluster:\n'
          '* Certificate signing request was sent to apiserver and a response was received.\n'
          '* The Kubelet was informed of the new secure connection details.\n\n'
          'Run \'kubectl get nodes\' on the control-plane to see this node join the cluster.\n')


def needs_cluster(f):
    kc = one(f, 'kubeconfig', default='/etc/kubernetes/admin.conf')
    if not os.path.exists(kc):
        die(f'failed to load admin kubeconfig: open {kc}: no such file or directory\nTo see the stack trace of this '
            'error execute with --v=5 or higher')


def token(argv):
    if not argv:
        die('kubeadm token: a subcommand is needed (list, create, delete)')
    sub, rest = argv[0], argv[1:]
    f, pos = flags(rest, {'kubeconfig', 'ttl', 'usages', 'groups', 'description', 'o', 'output'},
                   bools={'print-join-command'})
    needs_cluster(f)
    if sub == 'list':
        with Store() as st:
            toks = valid_tokens(st)
            st['tokens'] = toks  # the token cleaner's work
        print('TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION'
              '                                                EXTRA GROUPS')
        for tid, t in toks.items():
            left = '<forever>' if t['expires'] is None else f'{max(0, int((t["expires"] - time.time()) // 3600))}h'
            exp = '<never>' if t['expires'] is None else time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t['expires']))
            print(f'{tid}.{t["secret"]}   {left:<11} {exp:<22} {",".join(t["usages"]):<24} <none>'
                  f'                                                     {",".join(t["groups"])}')
    elif sub == 'create':
        tok = pos[0] if pos else None
        import re
        if tok and not re.fullmatch(r'[a-z0-9]{6}\.[a-z0-9]{16}', tok):
            die(f'[token] the token "{tok}" was not of the form "[a-z0-9]{{6}}.[a-z0-9]{{16}}"')
        if not tok:
            import secrets
            alpha = 'abcdefghijklmnopqrstuvwxyz0123456789'
            tok = ''.join(secrets.choice(alpha) for _ in range(6)) + '.' + ''.join(
                secrets.choice(alpha) for _ in range(16))
        with Store() as st:
            if tok.split('.')[0] in valid_tokens(st):
                die(f'failed to create bootstrap token with name "bootstrap-token-{tok.split(".")[0]}": secrets '
                    f'"bootstrap-token-{tok.split(".")[0]}" already exists')
            add_token(st, tok, one(f, 'ttl', default='24h0m0s'))
        print(tok)
    else:
        die(f'Error: unknown command "{sub}" for "kubeadm token"')


def reset(argv):
    f, _ = flags(argv, {'v', 'cri-socket'}, bools={'force', 'f'})
    if not (f.get('force') or f.get('f')):
        die('[reset] Are you sure you want to proceed? [y/N]: error: the stand-in needs --force (no terminal)')
    subprocess.run(['systemctl', 'stop', 'kubelet'])
    for p in ('/etc/kubernetes/kubelet.conf', '/etc/kubernetes/bootstrap-kubelet.conf', '/etc/kubernetes/admin.conf',
              '/etc/kubernetes/super-admin.conf', '/var/lib/kubelet/config.yaml', '/var/lib/kubelet/kubeadm-flags.env'):
        if os.path.exists(p):
            os.remove(p)
    subprocess.run(['sh', '-c', 'rm -rf /etc/kubernetes/manifests/* /etc/kubernetes/pki/*'])
    print('[reset] Deleted contents of the etc directories: [/etc/kubernetes/manifests /var/lib/kubelet '
          '/etc/kubernetes/pki]\n[reset] Deleting files: [/etc/kubernetes/admin.conf /etc/kubernetes/super-admin.conf '
          '/etc/kubernetes/kubelet.conf /etc/kubernetes/bootstrap-kubelet.conf]')


def main(argv):
    if not argv:
        die('Usage:\n  kubeadm [command]\n\nAvailable Commands:\n  init  join  reset  token  version')
    cmd, rest = argv[0], argv[1:]
    if cmd == 'version':
        print(f'kubeadm version: &version.Info{{Major:"1", Minor:"{K8S_VERSION.split(".")[1]}", '
              f'GitVersion:"{K8S_VERSION}", GitTreeState:"clean", Compiler:"gc", Platform:"linux/amd64"}}')
    elif cmd == 'init':
        init(rest)
    elif cmd == 'join':
        join(rest)
    elif cmd == 'token':
        token(rest)
    elif cmd == 'reset':
        reset(rest)
    else:
        die(f'unknown command "{cmd}" for "kubeadm"\nRun \'kubeadm --help\' for usage.')


if __name__ == '__main__':
    main(sys.argv[1:])

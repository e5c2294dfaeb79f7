# Stand-in, not the real tool: the kubelet for l2lab's tests. As the real one: fails until kubeadm has
# written /var/lib/kubelet/config.yaml (systemd restarts it), refuses a --node-ip the host does not
# have, and runs the static Pods of /etc/kubernetes/manifests — here, on the control plane, a stand-in
# API server: /healthz, the kube-public/cluster-info ConfigMap signed for each valid bootstrap token
# (kubeadm join's discovery), node registration with a bootstrap token (TLS bootstrap), pod CIDRs.
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from l2lstandin import Store, die, flags, jws_detached, kubeconfig, one, read_state, register_node, valid_tokens

MANIFESTS = '/etc/kubernetes/manifests'


def log(msg):
    sys.stderr.write(f'I{time.strftime("%m%d %H:%M:%S")} {os.getpid()} kubelet.go] {msg}\n')
    sys.stderr.flush()


def manifest_flags(name):
    try:
        with open(f'{MANIFESTS}/{name}.yaml') as f:
            cmd = json.load(f)['spec']['containers'][0]['command']
    except FileNotFoundError:
        return None
    return dict(a[2:].split('=', 1) for a in cmd[1:] if a.startswith('--') and '=' in a)


class Api(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        log('apiserver: ' + fmt % args)

    def reply(self, code, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith('/healthz') or self.path.startswith('/readyz'):
            return self.reply(200, b'ok')
        if self.path.startswith('/api/v1/namespaces/kube-public/configmaps/cluster-info'):
            st = read_state()
            cl = st.get('cluster')
            kc = kubeconfig(cl['server'], cl['ca'], '', token='-').split('users:')[0].rstrip() + '\nusers: null\n'
            data = {'kubeconfig': kc}
            for tid, t in valid_tokens(st).items():
                if 'signing' in t['usages']:
                    data[f'jws-kubeconfig-{tid}'] = jws_detached(kc, tid, t['secret'])
            return self.reply(200, {'apiVersion': 'v1', 'kind': 'ConfigMap',
                                    'metadata': {'name': 'cluster-info', 'namespace': 'kube-public'}, 'data': data})
        return self.reply(404, {'kind': 'Status', 'status': 'Failure', 'reason': 'NotFound', 'code': 404})

    def do_POST(self):
        if not self.path.startswith('/api/v1/nodes'):
            return self.reply(404, {'kind': 'Status', 'reason': 'NotFound', 'code': 404})
        auth = self.headers.get('Authorization', '')
        body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}')
        with Store() as st:
            tid, _, secret = auth.removeprefix('Bearer ').partition('.')
            t = valid_tokens(st).get(tid)
            if not t or t['secret'] != secret or 'authentication' not in t['usages']:
                return self.reply(401, {'kind': 'Status', 'status': 'Failure', 'reason': 'Unauthorized',
                                        'message': 'Unauthorized', 'code': 401})
            register_node(st, body['metadata']['name'], body.get('ips', []))
        return self.reply(201, {'kind': 'Node', 'metadata': body['metadata']})


def serve_api():
    fl = manifest_flags('kube-apiserver')
    ranges = fl.get('service-cluster-ip-range', '').split(',')
    for r in ranges:
        net = ipaddress.ip_network(r)
        if net.version == 6 and net.prefixlen < 108:
            die(f'E run.go] "command failed" err="specified --service-cluster-ip-range[{ranges.index(r)}] is too large;'
                ' for 128-bit addresses, the mask must be >= 108"')
    with Store() as st:  # kubeadm's upload-config and mark-control-plane phases, and the node registration
        for n in st.pop('pending_nodes', []):
            register_node(st, n['name'], n['ips'], n.get('labels'))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(fl['tls-cert-file'], fl['tls-private-key-file'])
    srv = ThreadingHTTPServer((fl['advertise-address'], int(fl.get('secure-port', 6443))), Api)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    log(f'apiserver: serving on {fl["advertise-address"]}:{fl.get("secure-port", 6443)}')
    import threading
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main(argv):
    f, _ = flags(argv, {'config', 'kubeconfig', 'bootstrap-kubeconfig', 'container-runtime-endpoint',
                        'pod-infra-container-image', 'node-ip', 'hostname-override', 'v'})
    cfg = one(f, 'config')
    if not cfg or not os.path.exists(cfg):
        die(f'E run.go:72] "command failed" err="failed to load kubelet config file, path: {cfg}, error: failed to '
            f'load Kubelet config file {cfg}, error failed to read kubelet config file "{cfg}", error: open {cfg}: '
            'no such file or directory"')
    have = subprocess.run(['ip', '-o', 'addr', 'show'], capture_output=True, text=True).stdout
    present = {w.split('/')[0] for line in have.splitlines() for w in line.split() if '/' in w}
    for ip in [x for x in (one(f, 'node-ip') or '').split(',') if x]:
        if ip not in present:
            die(f'E run.go:72] "command failed" err="failed to run Kubelet: failed to validate nodeIP: node IP: '
                f'\\"{ip}\\" not found in the host\'s network interfaces"')
    srv = serve_api() if os.path.exists(f'{MANIFESTS}/kube-apiserver.yaml') else None
    log('Started kubelet')
    while os.path.exists(cfg):  # kubeadm reset removes it: the real kubelet then fails too
        time.sleep(2)
    if srv:
        srv.shutdown()
    die('E run.go:72] "command failed" err="failed to load kubelet config file: no such file or directory"')


if __name__ == '__main__':
    main(sys.argv[1:])

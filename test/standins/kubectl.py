# Stand-in, not the real tool: kubectl for l2lab's tests — the calls the cluster path and the cilium
# subject make (apply/diff --server-side -f, delete, patch node, label node, rollout restart|status,
# wait --for=condition, get -o json|jsonpath) against the stand-in cluster on the control plane.
# As the real one: kinds must be served (CRDs applied first), unknown fields are refused (strict
# field validation), exit codes and messages have kubectl's shapes.
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from l2lstandin import (BUILTIN, yaml_docs, CLUSTER_SCOPED, SHORT, Store, die, flags, key, load_yaml_docs, one, qualified,
                        read_state, reconcile, resource_name, safe_upgrades_denial, served)

FLAGS = {'kubeconfig', 'namespace', 'n', 'f', 'filename', 'o', 'output', 'p', 'patch', 'type', 'for', 'timeout',
         'field-manager', 'l', 'selector'}
BOOLS = {'server-side', 'ignore-not-found', 'force-conflicts', 'overwrite', 'R', 'recursive'}


def schema_check(state, obj):
    """Strict field validation against the CRD's openAPIV3Schema (properties only)."""
    group = obj['apiVersion'].rpartition('/')[0]
    crd = state['crds'].get(f'{group}/{obj["kind"]}')
    if not crd:
        return None
    schema = crd['versions'].get(obj['apiVersion'].rpartition('/')[2])

    def walk(o, s, path):
        if not isinstance(o, dict) or not isinstance(s, dict):
            if isinstance(o, list) and isinstance(s, dict) and 'items' in s:
                for i, x in enumerate(o):
                    r = walk(x, s['items'], f'{path}[{i}]')
                    if r:
                        return r
            return None
        props = s.get('properties')
        if props is None or s.get('x-kubernetes-preserve-unknown-fields'):
            return None
        for k, v in o.items():
            if path == '' and k in ('apiVersion', 'kind', 'metadata'):
                continue
            if k not in props:
                return f'{path}{"." if path else ""}{k}'
            r = walk(v, props[k], f'{path}{"." if path else ""}{k}')
            if r:
                return r
        return None

    return walk(obj, schema, '')


def load(f):
    files = f.get('f', []) + f.get('filename', [])
    if not files:
        die('error: must specify one of -f and -k')
    docs = []
    for p in files:
        if p == '-':
            import yaml
            docs += [(d, 'STDIN') for d in yaml_docs(sys.stdin)]
        else:
            docs += [(d, p) for d in load_yaml_docs(p)]
    return docs


def ns_of(obj, f):
    if obj['kind'] in CLUSTER_SCOPED:
        return ''
    return obj['metadata'].get('namespace') or one(f, 'n', 'namespace', default='default')


def same(a, b):
    strip = lambda o: {k: v for k, v in o.items() if k not in ('status',)}
    return json.dumps(strip(a), sort_keys=True) == json.dumps(strip(b), sort_keys=True)


def apply(f, diff_only):
    docs = load(f)
    changed = False
    with Store() as st:
        for obj, src in docs:
            av, kind, name = obj.get('apiVersion', ''), obj.get('kind', ''), obj['metadata']['name']
            if not served(st, av, kind):
                ns = obj['metadata'].get('namespace', '')
                msg = (f'error: resource mapping not found for name: "{name}" namespace: "{ns}" from "{src}": no '
                       f'matches for kind "{kind}" in version "{av}"\nensure CRDs are installed first')
                die(msg, 2 if diff_only else 1)
            bad = schema_check(st, obj)
            if bad:
                die(f'Error from server (BadRequest): error when creating "{src}": {kind} in version '
                    f'"{av.rpartition("/")[2]}" cannot be handled as a {kind}: strict decoding error: unknown field '
                    f'"{bad}"', 2 if diff_only else 1)
            denial = safe_upgrades_denial(st, obj) if kind == 'CustomResourceDefinition' else None
            if denial:
                die(f'Error from server (Invalid): error when applying patch:\nto:\nResource: '
                    f'"apiextensions.k8s.io/v1, Resource=customresourcedefinitions", Name: "{name}"\nfor: "{src}": '
                    f'customresourcedefinitions.apiextensions.k8s.io "{name}" is forbidden: ValidatingAdmissionPolicy '
                    f"'safe-upgrades.gateway.networking.k8s.io' with binding 'safe-upgrades.gateway.networking.k8s.io' "
                    f'denied request: {denial}', 2 if diff_only else 1)
            k = key(kind, ns_of(obj, f), name)
            old = st['objects'].get(k)
            want = json.loads(json.dumps(obj))
            if ns_of(obj, f):
                want['metadata']['namespace'] = ns_of(obj, f)
            if old is not None and same({**old, 'metadata': {**old['metadata'], 'annotations': None}},
                                        {**want, 'metadata': {**want['metadata'], 'annotations': None}}):
                if not diff_only:
                    print(f'{qualified(kind)}/{name} serverside-applied')
                continue
            changed = True
            if diff_only:
                print(f'diff -u -N /tmp/LIVE/{qualified(kind)}.{name} /tmp/MERGED/{qualified(kind)}.{name}')
                continue
            if old and 'status' in old:
                want['status'] = old['status']
            st['objects'][k] = want
            if kind == 'CustomResourceDefinition':
                spec = want['spec']
                st['crds'][f'{spec["group"]}/{spec["names"]["kind"]}'] = {
                    'plural': spec['names']['plural'],
                    'listed': [v['name'] for v in spec['versions']],
                    'versions': {v['name']: (v.get('schema') or {}).get('openAPIV3Schema', {})
                                 for v in spec['versions'] if v.get('served', True)}}
            print(f'{qualified(kind)}/{name} serverside-applied')
        if not diff_only:
            reconcile(st)
    if diff_only:
        sys.exit(1 if changed else 0)


def kind_of(word):
    w = word.split('.')[0].lower()
    return SHORT.get(w) or next((k for v in BUILTIN.values() for k, r in v.items() if r == w), None) or \
        next((k.split('/')[1] for k in read_state()['crds'] if k.split('/')[1].lower() in (w, w.rstrip('s'))), None)


def not_found(kind, name):
    die(f'Error from server (NotFound): {resource_name(kind)}{"." + qualified(kind).split(".", 1)[1] if "." in qualified(kind) else ""} "{name}" not found')


def targets(pos):
    """`ds a b`, `ds/a`, `gateway/central` → [(kind, name)]"""
    if not pos:
        die('error: you must specify the type of resource')
    if '/' in pos[0]:
        return [(kind_of(p.split('/')[0]), p.split('/')[1]) for p in pos]
    kind = kind_of(pos[0])
    if not kind:
        die(f'error: the server doesn\'t have a resource type "{pos[0]}"')
    return [(kind, n) for n in pos[1:]]


def jsonpath(obj, expr):
    expr = expr.strip()
    if expr.startswith('{') and expr.endswith('}'):
        expr = expr[1:-1]
    cur = [obj]
    for part in re.findall(r'\.([^.\[]+)|\[(\*|\d+)\]', expr):
        nxt = []
        for c in cur:
            if part[0]:
                if isinstance(c, dict) and part[0] in c:
                    nxt.append(c[part[0]])
            elif part[1] == '*':
                nxt.extend(c if isinstance(c, list) else [])
            elif isinstance(c, list) and int(part[1]) < len(c):
                nxt.append(c[int(part[1])])
        cur = nxt
    return ' '.join(json.dumps(x) if isinstance(x, (dict, list)) else str(x) for x in cur)


def get(f, pos):
    st = read_state()
    out = one(f, 'o', 'output', default='')
    items = []
    for kind, name in targets(pos):
        ns = '' if kind in CLUSTER_SCOPED else one(f, 'n', 'namespace', default='default')
        o = st['objects'].get(key(kind, ns, name))
        if not o:
            not_found(kind, name)
        items.append(o)
    for o in items:
        if out == 'json':
            print(json.dumps(o, indent=4))
        elif out.startswith('jsonpath='):
            sys.stdout.write(jsonpath(o, out[len('jsonpath='):]))
        else:
            print(f'NAME\n{o["metadata"]["name"]}')


def main(argv):
    f, pos = flags(argv, FLAGS, BOOLS)
    if not pos:
        die('kubectl controls the Kubernetes cluster manager.\n\nUsage:\n  kubectl [flags] [options]')
    kc = one(f, 'kubeconfig', default=os.environ.get('KUBECONFIG', os.path.expanduser('~/.kube/config')))
    if not os.path.exists(kc):
        die('E memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list: Get '
            '\\"http://localhost:8080/api?timeout=32s\\": dial tcp [::1]:8080: connect: connection refused"\n'
            'The connection to the server localhost:8080 was refused - did you specify the right host or port?')
    cmd, rest = pos[0], pos[1:]
    ns = one(f, 'n', 'namespace', default='default')
    if cmd in ('apply', 'diff'):
        if not f.get('server-side') and cmd == 'apply':
            die('the stand-in applies server-side only, as the cluster path does')
        apply(f, cmd == 'diff')
    elif cmd == 'get':
        get(f, rest)
    elif cmd == 'delete':
        for kind, name in targets(rest):
            with Store() as st:
                k = key(kind, '' if kind in CLUSTER_SCOPED else ns, name)
                if k in st['objects']:
                    del st['objects'][k]
                    print(f'{qualified(kind)} "{name}" deleted')
                elif not f.get('ignore-not-found'):
                    not_found(kind, name)
    elif cmd in ('patch', 'label'):
        kind, name = targets(rest[:2])[0]
        with Store() as st:
            o = st['objects'].get(key(kind, '' if kind in CLUSTER_SCOPED else ns, name))
            if not o:
                not_found(kind, name)
            before = json.dumps(o, sort_keys=True)
            if cmd == 'patch':
                if one(f, 'type') != 'merge':
                    die('the stand-in takes --type merge patches only, as the cluster path sends')
                patch = json.loads(one(f, 'p', 'patch'))
                labels = (patch.get('metadata') or {}).get('labels') or {}
            else:
                labels = {}
                for a in rest[2:]:
                    if a.endswith('-'):
                        labels[a[:-1]] = None
                    else:
                        k2, _, v = a.partition('=')
                        if o['metadata'].get('labels', {}).get(k2) not in (None, v) and not f.get('overwrite'):
                            die(f"error: '{k2}' already has a value ({o['metadata']['labels'][k2]}), and --overwrite is false")
                        labels[k2] = v
            ls = o['metadata'].setdefault('labels', {})
            for k2, v in labels.items():
                if v is None:
                    ls.pop(k2, None)
                else:
                    ls[k2] = v
            what = 'patched' if cmd == 'patch' else 'labeled'
            print(f'{kind.lower()}/{name} {what}{" (no change)" if before == json.dumps(o, sort_keys=True) else ""}')
    elif cmd == 'rollout':
        action, objs = rest[0], targets(rest[1:])
        for kind, name in objs:
            with Store() as st:
                o = st['objects'].get(key(kind, ns, name))
                if not o:
                    not_found(kind, name)
                if action == 'restart':
                    ann = o.setdefault('spec', {}).setdefault('template', {}).setdefault('metadata', {}) \
                        .setdefault('annotations', {})
                    ann['kubectl.kubernetes.io/restartedAt'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
                    print(f'{qualified(kind)}/{name} restarted')
                elif action == 'status':
                    print(f'{kind.lower()} "{name}" successfully rolled out')
                else:
                    die(f'error: unknown command "{action}" for "kubectl rollout"')
    elif cmd == 'wait':
        cond = (one(f, 'for') or '').removeprefix('condition=')
        timeout = float((one(f, 'timeout', default='30s')).rstrip('s'))
        for kind, name in targets(rest):
            deadline = time.time() + timeout
            while True:
                with Store() as st:
                    reconcile(st)
                    o = st['objects'].get(key(kind, '' if kind in CLUSTER_SCOPED else ns, name))
                if o and any(c['type'] == cond and c['status'] == 'True'
                             for c in (o.get('status') or {}).get('conditions', [])):
                    print(f'{qualified(kind)}/{name} condition met')
                    break
                if time.time() > deadline:
                    die(f'error: timed out waiting for the condition on {resource_name(kind)}/{name}')
                time.sleep(1)
    else:
        die(f'error: unknown command "{cmd}" for "kubectl" (the stand-in answers the calls of the cluster path)')


if __name__ == '__main__':
    main(sys.argv[1:])

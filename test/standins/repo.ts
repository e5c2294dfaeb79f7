// Stand-in package sources for the cluster path on VMs that cannot download Kubernetes: a signed
// flat apt repository with packages kubelet, kubeadm and kubectl (the stand-ins of this folder,
// at the lab file's pinned version), a cilium-cli release (tarball + .sha256sum, as GitHub serves
// it), a Helm repository of Cilium's vendored charts, the real helm (in a package of its own) and a
// Debian mirror subset (the packages the cluster path installs that the box lacks, from
// this host's apt). Served over HTTP on the lab's management network only. Used by tests only:
// the real path downloads from pkgs.k8s.io, GitHub and Debian.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { execa } from 'execa';
import { chartOf, chartVersions, HELM } from '../../playbooks/cluster/chart.ts';
import { versionTable } from '../../playbooks/cluster/versions.ts';

const HERE = new URL('.', import.meta.url).pathname;
const LIB = '/usr/lib/l2lab-standins';
const DEB_CACHE = '/var/cache/l2l-standin-debs';

export interface StandinRepo {
  dir: string;
  /** The Kubernetes repository (flat, like pkgs.k8s.io/core:/stable:/v1.34/deb/), relative to the server root. */
  kubernetes: string;
  /** cilium-cli releases: <base>/<version>/cilium-linux-amd64.tar.gz{,.sha256sum}. */
  ciliumCli: string;
  /** The Debian subset (flat). */
  debian: string;
  /** A Helm repository of Cilium's vendored charts (index.yaml + the .tgz files). */
  charts: string;
  /** The repositories' signing key, ASCII-armoured. */
  key: string;
}

const wrapper = (tool: string) =>
  `#!/bin/sh\n# Stand-in, not the real ${tool}: l2lab's test double (test/standins/${tool}.py).\nexec /usr/bin/python3 ` +
  `${LIB}/${tool}.py "$@"\n`;

async function deb(
  out: string,
  name: string,
  version: string,
  depends: string[],
  files: Record<string, { text: string | Buffer; mode: number }>,
  description: string,
  compression: 'gzip' | 'none' = 'gzip',
): Promise<void> {
  const root = join(out, '.build', name);
  for (const [path, f] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), f.text, { mode: f.mode });
  }
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  writeFileSync(
    join(root, 'DEBIAN', 'control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: ${name === 'l2lab-standin-lib' ? 'all' : 'amd64'}\nMaintainer: l2lab tests ` +
      `<tests@l2lab.invalid>\n${depends.length ? `Depends: ${depends.join(', ')}\n` : ''}Description: ${description}\n`,
  );
  await execa('dpkg-deb', [
    '--root-owner-group',
    `-Z${compression}`,
    '--build',
    root,
    join(out, `${name}_${version}.deb`),
  ]);
}

/** A flat repository's index, Release and signatures, signed with the test key. */
async function index(dir: string, gpgHome: string): Promise<void> {
  const pk = await execa('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: dir });
  writeFileSync(join(dir, 'Packages'), pk.stdout.endsWith('\n') ? pk.stdout : `${pk.stdout}\n`);
  const body = readFileSync(join(dir, 'Packages'));
  const sum = (alg: string) => createHash(alg).update(body).digest('hex');
  writeFileSync(
    join(dir, 'Release'),
    `Origin: l2lab stand-ins\nLabel: l2lab stand-ins\nArchitectures: amd64 all\nDate: ${new Date().toUTCString()}\n` +
      `MD5Sum:\n ${sum('md5')} ${body.length} Packages\nSHA256:\n ${sum('sha256')} ${body.length} Packages\n`,
  );
  const gpg = (...a: string[]) => execa('gpg', ['--batch', '--yes', '--homedir', gpgHome, ...a], { cwd: dir });
  await gpg('--clearsign', '-o', 'InRelease', 'Release');
  await gpg('-abs', '-o', 'Release.gpg', 'Release');
}

/** Debian packages (with what they need) the VMs lack, fetched once into a cache by this host's apt. */
async function debianSubset(dir: string, wanted: string[], installed: Set<string>): Promise<string[]> {
  const deps = await execa('apt-cache', [
    'depends',
    '--recurse',
    '--no-recommends',
    '--no-suggests',
    '--no-conflicts',
    '--no-breaks',
    '--no-replaces',
    '--no-enhances',
    '--no-pre-depends',
    ...wanted,
  ]);
  const names = [...new Set(deps.stdout.split('\n').filter((l) => /^[a-z0-9]/.test(l)))].filter(
    (p) => !installed.has(p),
  );
  mkdirSync(DEB_CACHE, { recursive: true });
  const missing = names.filter((n) => !existsSync(join(DEB_CACHE, `${n}.deb`)));
  if (missing.length) {
    let r = await execa('apt-get', ['download', ...missing], { cwd: DEB_CACHE, reject: false });
    if (r.exitCode !== 0) {
      await execa('apt-get', ['update', '-qq']);
      r = await execa('apt-get', ['download', ...missing], { cwd: DEB_CACHE });
    }
    // apt-get names files name_version_arch.deb: keep one per package, under its name.
    for (const n of missing) {
      const f = (await execa('sh', ['-c', `ls ${n}_*.deb | head -1`], { cwd: DEB_CACHE })).stdout.trim();
      await execa('mv', [f, `${n}.deb`], { cwd: DEB_CACHE });
    }
  }
  for (const n of names) await execa('cp', [join(DEB_CACHE, `${n}.deb`), join(dir, `${n}.deb`)]);
  return names;
}

export async function buildStandinRepo(
  dir: string,
  opts: { kubernetesVersion: string; ciliumCliVersion: string; debian: string[]; installedOnVms: Set<string> },
): Promise<StandinRepo & { debianPackages: string[] }> {
  const gpgHome = join(dir, '.gnupg');
  mkdirSync(gpgHome, { recursive: true, mode: 0o700 });
  await execa('gpg', [
    '--batch',
    '--homedir',
    gpgHome,
    '--passphrase',
    '',
    '--quick-gen-key',
    'l2lab stand-in repository (tests only)',
    'ed25519',
    'sign',
    'never',
  ]);
  const key = (await execa('gpg', ['--batch', '--homedir', gpgHome, '--armor', '--export'])).stdout;
  const k8s = join(dir, 'kubernetes');
  mkdirSync(k8s, { recursive: true });
  const version = `${opts.kubernetesVersion}-1.1`; // pkgs.k8s.io's revision scheme
  const py = (t: string) => ({ text: readFileSync(join(HERE, `${t}.py`), 'utf8'), mode: 0o644 });
  // The stand-in cilium-cli renders Cilium's real chart with the real helm, as cilium-cli does with
  // the helm library built into it: the helm `npm run setup` installed (.tools/helm), uncompressed.
  await deb(
    k8s,
    'l2lab-standin-helm',
    version,
    [],
    { [`${LIB}/helm`]: { text: readFileSync(HELM), mode: 0o755 } },
    'The real helm, for the stand-in cilium-cli (l2lab tests)',
    'none',
  );
  await deb(
    k8s,
    'l2lab-standin-lib',
    version,
    ['python3', 'python3-yaml', 'openssl', 'l2lab-standin-helm'],
    {
      ...Object.fromEntries(
        ['l2lstandin', 'kubeadm', 'kubelet', 'kubectl', 'cilium'].map((t) => [`${LIB}/${t}.py`, py(t)]),
      ),
      // The stand-in operator follows l2lab's version table, as the cluster path does.
      [`${LIB}/cilium-versions.json`]: { text: JSON.stringify(versionTable()), mode: 0o644 },
    },
    "l2lab's stand-ins for Kubernetes tools (tests only)",
  );
  const bin = (tool: string) => ({ [`/usr/bin/${tool}`]: { text: wrapper(tool), mode: 0o755 } });
  await deb(k8s, 'kubeadm', version, ['l2lab-standin-lib'], bin('kubeadm'), 'Stand-in for kubeadm (l2lab tests)');
  await deb(k8s, 'kubectl', version, ['l2lab-standin-lib'], bin('kubectl'), 'Stand-in for kubectl (l2lab tests)');
  // The kubelet's units, as the real package ships them (kubernetes/release, packages/deb).
  await deb(
    k8s,
    'kubelet',
    version,
    ['l2lab-standin-lib', 'iproute2'],
    {
      ...bin('kubelet'),
      '/usr/lib/systemd/system/kubelet.service': {
        mode: 0o644,
        text:
          '[Unit]\nDescription=kubelet: The Kubernetes Node ' +
          'Agent\nDocumentation=https://kubernetes.io/docs/\nWants=network-online.target\nAfter=network-online.target\n\n' +
          '[Service]\nExecStart=/usr/bin/kubelet\nRestart=always\nStartLimitInterval=0\nRestartSec=10\n\n' +
          '[Install]\nWantedBy=multi-user.target\n',
      },
      '/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf': {
        mode: 0o644,
        text:
          '[Service]\nEnvironment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf ' +
          '--kubeconfig=/etc/kubernetes/kubelet.conf"\n' +
          'Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"\n' +
          'EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env\nEnvironmentFile=-/etc/default/kubelet\nExecStart=\n' +
          'ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS\n',
      },
    },
    'Stand-in for the kubelet (l2lab tests)',
  );
  writeFileSync(join(k8s, 'Release.key'), `${key}\n`);
  await index(k8s, gpgHome);

  const cli = join(dir, 'cilium-cli', opts.ciliumCliVersion);
  mkdirSync(join(cli, '.build'), { recursive: true });
  writeFileSync(join(cli, '.build', 'cilium'), wrapper('cilium'), { mode: 0o755 });
  await execa('tar', ['-czf', join(cli, 'cilium-linux-amd64.tar.gz'), '-C', join(cli, '.build'), 'cilium']);
  const tgz = readFileSync(join(cli, 'cilium-linux-amd64.tar.gz'));
  writeFileSync(
    join(cli, 'cilium-linux-amd64.tar.gz.sha256sum'),
    `${createHash('sha256').update(tgz).digest('hex')}  cilium-linux-amd64.tar.gz\n`,
  );

  // A Helm repository of Cilium's vendored charts (what cilium-cli's --repository reads), indexed by
  // the real helm with relative URLs.
  const charts = join(dir, 'charts');
  mkdirSync(charts, { recursive: true });
  for (const v of chartVersions()) await execa('cp', [chartOf(v)!, charts]);
  await execa(HELM, ['repo', 'index', charts], { env: { PATH: process.env.PATH ?? '', HOME: charts } });

  const debian = join(dir, 'debian');
  mkdirSync(debian, { recursive: true });
  const debianPackages = await debianSubset(debian, opts.debian, opts.installedOnVms);
  await index(debian, gpgHome);
  return {
    dir,
    kubernetes: 'kubernetes/',
    ciliumCli: `cilium-cli/${opts.ciliumCliVersion}`,
    debian: 'debian/',
    charts: 'charts',
    key,
    debianPackages,
  };
}

/** Serves dir read-only on one address (the lab's management network); ends with close(). */
export async function serve(dir: string, host: string): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path);
    requests.push(`${req.method} ${path}`);
    if (!file.startsWith(dir) || path.includes('/.') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => server.listen(0, host, ok).once('error', fail));
  const port = (server.address() as { port: number }).port;
  return { url: `http://${host}:${port}/`, server, requests };
}

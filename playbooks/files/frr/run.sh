#!/bin/sh
# The node's FRR VRRP stack as one service: the macvlans that carry the virtual MACs (FRR does
# not create them: doc/user/vrrp.rst, "System Configuration"), then zebra and vrrpd in the
# foreground. vrrpd keeps a backup's macvlan in protodown (no carrier, so no answers) and lifts
# it on becoming master. A graceful stop ends vrrpd first (a master sends a priority-0
# advertisement), then zebra; the macvlans are removed with the service.
#   run.sh IFACE VRID CONF VIP4 [VIP6]
set -u
iface=$1 vrid=$2 conf=$3 vip4=$4 vip6=${5:-}
hex=$(printf '%02x' "$vrid")
# IPv6 advertisements are sent from the macvlan's link-local address: not derived from the
# (shared) virtual MAC, so that routers differ; l2lab gives it the switch NIC's own, which
# names the node on the wire.
ll=$(ip -6 -o addr show dev "$iface" scope link | awk '{print $4; exit}')
macvlan() { # NAME MAC ADDRESS [LINK-LOCAL]
  ip link del "$1" 2>/dev/null
  gen=random; [ -z "${4:-}" ] || gen=none
  # The MAC is given at creation: a MAC the kernel made up is replaced by udev (systemd's
  # MACAddressPolicy) whenever it gets to it, also after a later `ip link set address`.
  ip link add "$1" link "$iface" address "$2" type macvlan mode bridge
  ip link set dev "$1" addrgenmode "$gen"
  [ -z "${4:-}" ] || ip addr add "$4" dev "$1" nodad # the parent's own: DAD would find it taken
  # The VIP as FRR's doc adds it (no nodad): where the host runs DAD (accept_dad, lab switch.dad),
  # the address is tentative until found unique, as on any host following that doc.
  ip addr add "$3" dev "$1"
  ip link set dev "$1" up
}
macvlan l2lvrrp4 "00:00:5e:00:01:$hex" "$vip4/32"
[ -z "$vip6" ] || macvlan l2lvrrp6 "00:00:5e:00:02:$hex" "$vip6/128" "$ll"

zebra='' vrrpd=''
cleanup() {
  [ -z "$vrrpd" ] || { kill -TERM "$vrrpd" 2>/dev/null; wait "$vrrpd"; }
  # vrrpd has sent priority 0 and leaves the macvlans as they are (a master's up): without them
  # the node stops answering at once, as the backup takes over.
  ip link set dev l2lvrrp4 down 2>/dev/null
  ip link set dev l2lvrrp6 down 2>/dev/null
  [ -z "$zebra" ] || { kill -TERM "$zebra" 2>/dev/null; wait "$zebra"; }
  ip link del l2lvrrp4 2>/dev/null
  ip link del l2lvrrp6 2>/dev/null
  exit 0
}
trap cleanup TERM INT

# FRR's daemons keep per-process crash logs in /var/tmp/frr: on the netns lab that is the host's
# (shared by all nodes, whose PIDs collide), so each node gets its own under /var/lib/l2lab.
for d in /var/tmp/frr; do
  if ! grep -q " $d " /proc/self/mountinfo; then
    mkdir -p "/var/lib/l2lab/private$d" "$d"
    mount --bind "/var/lib/l2lab/private$d" "$d"
  fi
  chown frr:frr "$d"
done
mkdir -p /run/frr
chown frr:frr /run/frr
# A stack killed as a whole (a crash) leaves nothing running; one whose shell alone died might.
for d in vrrpd zebra; do
  [ ! -f "/run/frr/$d.pid" ] || kill -KILL "$(cat "/run/frr/$d.pid")" 2>/dev/null
done
rm -f /run/frr/zserv.api
/usr/lib/frr/zebra -f /dev/null -i /run/frr/zebra.pid --log stdout &
zebra=$!
i=0
until [ -S /run/frr/zserv.api ]; do
  i=$((i + 1)); [ "$i" -le 100 ] || { echo "zebra did not come up" >&2; kill "$zebra"; exit 1; }
  sleep 0.1
done
/usr/lib/frr/vrrpd -f "$conf" -i /run/frr/vrrpd.pid --log stdout &
vrrpd=$!
wait "$vrrpd"
cleanup

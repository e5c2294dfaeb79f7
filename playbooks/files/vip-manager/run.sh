#!/bin/sh
# The node's vip-manager stack as one service: the leader-key holder (Patroni's part) and one
# vip-manager per VIP (vip-manager manages one address). A graceful stop reaches them all, as
# systemd's KillMode=control-group does; vip-manager 1.0 handles only SIGINT (main.go), so
# SIGTERM — what Debian's unit sends — ends it without removing the VIP.
#   run.sh ENDPOINT KEY NAME TTL_S LOOP_WAIT_S INTERVAL_MS IFACE VIP/MASK...
set -u
ep=$1 key=$2 name=$3 ttl=$4 loop=$5 interval=$6 iface=$7
shift 7
dir=$(dirname "$0")
"$dir/leader-key.sh" "$ep" "$key" "$name" "$ttl" "$loop" &
pids=$!
for vip in "$@"; do
  vip-manager --dcs-type etcd --dcs-endpoints "$ep" --trigger-key "$key" --trigger-value "$name" \
    --interface "$iface" --ip "${vip%/*}" --netmask "${vip#*/}" --interval "$interval" &
  pids="$pids $!"
done
trap 'kill -TERM $pids 2>/dev/null' TERM
# wait returns early when a trapped signal arrives; then wait for all of them to finish.
wait
wait

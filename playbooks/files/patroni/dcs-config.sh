#!/bin/sh
# Patroni's dynamic configuration (ttl, loop_wait, retry_timeout) as the lab wants it: waits for
# the cluster's leader, then writes the values with patronictl edit-config when they differ
# (bootstrap.dcs applies only when a cluster is first initialised), once the cluster has a leader
# and all MEMBERS run (a replica that is still cloning could not take over). Prints "changed" when
# it wrote.
#   dcs-config.sh CONFIG MEMBERS TTL LOOP_WAIT RETRY_TIMEOUT
set -eu
cfg=$1 members=$2 ttl=$3 loop=$4 retry=$5
i=0
until list=$(patronictl -c "$cfg" list -f json 2>/dev/null) && echo "$list" | grep -q '"Role": "Leader"' &&
  [ "$(echo "$list" | grep -oE '"State": "(running|streaming)"' | wc -l)" -ge "$members" ]; do
  i=$((i + 1)); [ "$i" -le 180 ] || { echo "Patroni: no leader and $members members running within 180 s" >&2; patronictl -c "$cfg" list >&2 || true; exit 1; }
  sleep 1
done
have=$(patronictl -c "$cfg" show-config 2>/dev/null | grep -E '^(ttl|loop_wait|retry_timeout):' | sort | tr '\n' ' ')
want="loop_wait: $loop retry_timeout: $retry ttl: $ttl "
[ "$have" = "$want" ] && exit 0
patronictl -c "$cfg" edit-config --force -s "ttl=$ttl" -s "loop_wait=$loop" -s "retry_timeout=$retry" >/dev/null
echo changed

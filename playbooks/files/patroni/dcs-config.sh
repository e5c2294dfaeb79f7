#!/bin/sh
# Patroni's dynamic configuration (ttl, loop_wait, retry_timeout) as the lab wants it: once the
# cluster has a leader and all MEMBERS run (a replica that is still cloning could not take over),
# writes the values with patronictl edit-config when they differ (bootstrap.dcs applies only when a
# cluster is first initialised). Prints "changed" when it wrote.
#   dcs-config.sh CONFIG MEMBERS TTL LOOP_WAIT RETRY_TIMEOUT
set -eu
cfg=$1 members=$2 ttl=$3 loop=$4 retry=$5
# patronictl's JSON list, read as JSON (a leader, and MEMBERS running or streaming).
ready() {
  patronictl -c "$cfg" list -f json 2>/dev/null | python3 -c '
import json, sys
m = json.load(sys.stdin)
up = sum(x.get("State") in ("running", "streaming") for x in m)
sys.exit(0 if any(x.get("Role") == "Leader" for x in m) and up >= int(sys.argv[1]) else 1)' "$members"
}
i=0
until ready; do
  i=$((i + 1)); [ "$i" -le 180 ] || { echo "Patroni: no leader and $members members running within 180 s" >&2; patronictl -c "$cfg" list >&2 || true; exit 1; }
  sleep 1
done
have=$(patronictl -c "$cfg" show-config 2>/dev/null | grep -E '^(ttl|loop_wait|retry_timeout):' | sort | tr '\n' ' ')
want="loop_wait: $loop retry_timeout: $retry ttl: $ttl "
[ "$have" = "$want" ] && exit 0
patronictl -c "$cfg" edit-config --force -s "ttl=$ttl" -s "loop_wait=$loop" -s "retry_timeout=$retry" >/dev/null
echo changed

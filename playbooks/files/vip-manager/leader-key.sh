#!/bin/sh
# leader-key: plays Patroni's part for vip-manager — NOT Patroni, which needs PostgreSQL — with
# Patroni's semantics on etcd's v2 keys API (Patroni's etcd DCS): a member that finds no leader
# key creates it with a TTL (prevExist=false); the leader refreshes it every loop_wait
# (prevValue=NAME); the others look every loop_wait and at once when the key changes (Patroni
# watches it); on a graceful stop the leader deletes its key (Patroni releases it on shutdown).
#   leader-key.sh ENDPOINT KEY NAME TTL_S LOOP_WAIT_S
set -u
ep=$1 key=$2 name=$3 ttl=$4 loop=$5
e() { ETCDCTL_API=2 etcdctl --endpoints "$ep" --timeout 1s --total-timeout 2s "$@"; }
watcher=''

release() {
  [ -z "$watcher" ] || kill "$watcher" 2>/dev/null
  e rm "$key" --with-value "$name" >/dev/null 2>&1 && echo "released $key"
  exit 0
}
trap release TERM INT

while :; do
  holder=$(e get "$key" 2>/dev/null) || holder=''
  if [ "$holder" = "$name" ]; then
    e set "$key" "$name" --ttl "$ttl" --swap-with-value "$name" >/dev/null 2>&1 || echo "refresh failed"
  elif [ -z "$holder" ] && e mk "$key" "$name" --ttl "$ttl" >/dev/null 2>&1; then
    echo "acquired $key"
  fi
  # loop_wait, cut short by any change of the key (etcdctl watch returns on the first one).
  timeout "$loop" env ETCDCTL_API=2 etcdctl --endpoints "$ep" watch "$key" >/dev/null 2>&1 &
  watcher=$!
  wait "$watcher"
  watcher=''
done

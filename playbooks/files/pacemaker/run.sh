#!/bin/sh
# The node's HA stack as one service: Corosync, then Pacemaker, both in the foreground.
# Pacemaker keeps its state in /var/lib/pacemaker and Corosync in /var/lib/corosync: on the
# netns lab those are the host's, so each node gets its own under /var/lib/l2lab (kept across
# power cycles, like a disk). A graceful stop is Pacemaker's own: pacemakerd on SIGTERM moves
# its resources away and stops, then Corosync leaves the membership.
set -u
for d in /var/lib/pacemaker /var/lib/corosync; do
  if ! grep -q " $d " /proc/self/mountinfo; then
    mkdir -p "/var/lib/l2lab/private$d" "$d"
    mount --bind "/var/lib/l2lab/private$d" "$d"
  fi
done
mkdir -p /var/lib/pacemaker/cib /var/lib/pacemaker/pengine /var/lib/pacemaker/blackbox /var/lib/pacemaker/cores /var/log/pacemaker
chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker
chmod 0750 /var/lib/pacemaker/cib

corosync -f &
corosync=$!
# Pacemaker needs Corosync's membership; wait until its configuration service answers (60 s:
# seconds under software emulation).
i=0
until corosync-cfgtool -s >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "corosync did not come up within 60 s" >&2; kill "$corosync"; wait "$corosync"; exit 1; }
  sleep 0.1
done
PCMK_logfile=/var/log/l2lab/pacemaker-detail.log pacemakerd &
pacemaker=$!
stop() {
  kill -TERM "$pacemaker" 2>/dev/null
  wait "$pacemaker"
  kill -TERM "$corosync" 2>/dev/null
  wait "$corosync"
  exit 0
}
trap stop TERM INT
wait "$pacemaker"
# pacemakerd ended on its own: take Corosync down with it, so that the service is down.
kill -TERM "$corosync" 2>/dev/null
wait "$corosync"

#!/bin/sh
# Boots one netns-lab machine. Runs as PID 1 of the node's own PID, mount, UTS and IPC
# namespaces (inside its network namespace), sets up what is private to the node, starts
# its enabled services, then becomes tini: killing it powers the whole node off at once.
#   boot.sh NODE_NAME BACKING_DIR INIT_PID_FILE
set -eu
name=$1 backing=$2 pidfile=$3

# Our PID as the host sees it (first NSpid field), read while /proc is still the host's.
while read -r key host_pid _; do
  [ "$key" = NSpid: ] && { echo "$host_pid" > "$pidfile.tmp"; mv "$pidfile.tmp" "$pidfile"; break; }
done < /proc/self/status

mount -t proc proc /proc
hostname "$name"

# /etc: copy-on-write over the host's /etc; what a node writes there stays with the node.
mkdir -p "$backing/etc-upper" "$backing/etc-work" "$backing/lib" "$backing/log"
# The overlay's root takes the upper layer's mode: as the host's /etc, or daemons that drop
# root (pacemaker's hacluster) cannot read /etc/passwd.
chmod --reference=/etc "$backing/etc-upper"
chmod 0755 "$backing/lib" "$backing/log"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$backing/etc-upper,workdir=$backing/etc-work" /etc
echo "$name" > /etc/hostname
# State and logs persist across power cycles; /run starts empty on every boot.
mount --bind "$backing/lib" /var/lib/l2lab
mount --bind "$backing/log" /var/log/l2lab
# root's home is the node's own (no host shell start-up files run on nodes), at a path that
# shadows nothing of the host: /root and /tmp stay shared, so a checkout there stays visible.
mkdir -p "$backing/lib/root" && chmod 0700 "$backing/lib/root"
sed -i 's#^\(root:[^:]*:0:0:[^:]*:\)[^:]*:#\1/var/lib/l2lab/root:#' /etc/passwd
mount -t tmpfs -o mode=0755,size=64m tmpfs /run
# Shared memory is the machine's own (libqb's IPC files there are named by PID, and PIDs repeat
# across nodes).
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mkdir -p /run/sshd /run/l2lab

if [ -x /etc/l2lab/bin/l2l-service ]; then
  /etc/l2lab/bin/l2l-service start-enabled >> /var/log/l2lab/boot.log 2>&1 || true
fi
exec tini -s -- sleep infinity

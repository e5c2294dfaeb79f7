#!/usr/bin/env bash
# npm test: types, lint, dependency rules, then the three test tiers.
#
# The VM tier runs beside the unit and netns-lab tiers: a netns lab test mostly waits on timers
# (the CPU was 80–95 % idle with one file at a time) while qemu's software emulation wants every
# cycle it can get. The netns tiers' timing verdicts must not wait for qemu, so they run in a CPU
# cgroup of their own (cgroup v1, l2l-tests-PID, removed at the end) weighted ten times libvirt's
# machine partition: a lab process that wakes runs at once, and the VMs take what is left. Where
# no such cgroup can be made (no cgroup v1 cpu controller, not root), the tiers run one after the
# other. Every tier runs even when another failed; the exit code is non-zero when any did.
set -u
cd "$(dirname "$0")/.."
npx tsc --noEmit && npx biome check . && npm run -s deps || exit 1

status=0
cg=/sys/fs/cgroup/cpu/l2l-tests-$$
if [ -f /sys/fs/cgroup/cpu/cpu.shares ] && mkdir "$cg" 2>/dev/null && echo 10240 >"$cg/cpu.shares"; then
  vm_log=$(mktemp /tmp/l2l-vm-tier.XXXXXX)
  npx ava test/vm/ >"$vm_log" 2>&1 &
  vm=$!
  trap 'kill -INT $vm 2>/dev/null' INT TERM
  echo "the VM tier runs beside the others (its output follows theirs)"
  (echo "$BASHPID" >"$cg/cgroup.procs" && exec npx ava test/unit/ test/lab/) || status=1
  wait "$vm" || status=1
  cat "$vm_log"
  rm -f "$vm_log"
  # Processes a test left behind keep the cgroup: say so rather than hide them.
  rmdir "$cg" 2>/dev/null || echo "left in $cg: $(tr '\n' ' ' <"$cg/cgroup.procs")" >&2
else
  rmdir "$cg" 2>/dev/null
  npx ava test/unit/ test/lab/ || status=1
  npx ava test/vm/ || status=1
fi
exit "$status"

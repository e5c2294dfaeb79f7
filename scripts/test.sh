#!/usr/bin/env bash
# npm test: types, lint, dependency rules, then the test tiers one after the other: unit (three
# files at a time: no timing verdict in it, and its files wait on helm, the stand-ins and l2lab's
# own processes: 60-62 s two at a time, 48-58 s three at a time, measured 2026-12-06), netns lab (one
# file at a time), then the VM tier. Every tier runs even when the one before failed, so one
# failure hides no other; the exit code is non-zero when any step failed.
#
# One file at a time, and no tier beside another: tried on 2026-12-05, the VM tier beside the
# netns tiers (those in a CPU cgroup weighted 10× libvirt's machine partition) cost a netns timing
# verdict (pacemaker:fast power-off 4591 ms against 4200) and starved the emulated client VM (its
# prober's baseline not written within 18 s: four harness errors); two lab files side by side cost
# another (1694 ms against 1640). Timing verdicts are this project's product: they get the cores.
#
# Types, lint and the dependency rules (16 s) run beside the unit tier, which judges no time; a
# failure there still stops everything before the lab tiers.
set -u
cd "$(dirname "$0")/.."
( npx tsc --noEmit && npx biome check . && npm run -s deps ) &
checks=$!
status=0
npx ava --concurrency 3 test/unit/ || status=1
wait "$checks" || { echo "types, lint or dependency rules failed: no lab tier runs"; exit 1; }
npx ava test/lab/ || status=1
npx ava test/vm/ || status=1
exit "$status"

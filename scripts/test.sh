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
# failure there still stops everything before the lab tiers. So does the VM tier's box build
# (`l2lab box build`: a no-op when the installed box is current, about 130 s on a fresh machine,
# mostly downloads and unpacking): the netns tier starts only once it has ended, so it takes no
# core from a timing verdict. Its failure stops nothing here: the VM tier builds again and says why.
set -u
cd "$(dirname "$0")/.."
node scripts/run.mjs build >/dev/null # one bundle build, before two processes could both start one
( npx tsc --noEmit && npx biome check . && npm run -s deps ) &
checks=$!
boxlog=$(mktemp /tmp/l2l-box.XXXXXX)
node bin/l2lab.mjs box build >"$boxlog" 2>&1 &
box=$!
status=0
npx ava --concurrency 3 test/unit/ || status=1
wait "$checks" || { echo "types, lint or dependency rules failed: no lab tier runs"; wait "$box"; rm -f "$boxlog"; exit 1; }
t0=$SECONDS
wait "$box" || echo "l2lab box build failed (the VM tier tries again):"
echo "box build (beside the unit tier; waited $((SECONDS - t0)) s after it): $(tail -n 3 "$boxlog")"
rm -f "$boxlog"
npx ava test/lab/ || status=1
npx ava test/vm/ || status=1
exit "$status"

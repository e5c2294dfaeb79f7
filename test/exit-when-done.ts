// Loaded into every test worker (ava.require). AVA ends a worker only once its event loop is
// empty, so a handle a failed test left open (a store client, a socket) would hold the whole run
// until ava's timeout. When every test and hook has finished, the worker exits: with an error
// naming what is still open, since a leaked handle is a missing cleanup — a failure of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCompletionHandler } from 'ava';

// Every temporary file a test makes (os.tmpdir(): run folders, derived lab files, playbooks) goes
// to a directory of the worker's own, removed when the worker ends — failed or not: a CI machine
// had 1188 of them left in /tmp after a day. L2LAB_KEEP_TMP=1 keeps it, to read a failure's files.
const scratch = mkdtempSync(join(tmpdir(), 'l2l-test-'));
process.env.TMPDIR = scratch;
if (!process.env.L2LAB_KEEP_TMP) process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
else process.stderr.write(`test worker: temporary files kept in ${scratch}\n`);

// Test runs never land in the user's run history; tests of the history name their own file. Run
// folders and comparisons go to a data directory of the worker's own, inside the scratch directory.
process.env.L2LAB_HISTORY ??= 'off';
process.env.L2LAB_DATA ??= mkdtempSync(join(scratch, 'l2l-data-'));

const expected = new Set(['TTYWrap', 'PipeWrap', 'ProcessWrap']);

const stillOpen = () => process.getActiveResourcesInfo().filter((r) => !expected.has(r));

registerCompletionHandler(() => {
  // A client closing in the last teardown may still have an Immediate or a timer queued (an etcd
  // client's call deadline runs out up to a second later: a CI run saw one Timeout left at
  // 300 ms): look again until 3 s have passed; what is still open then is a leak.
  const deadline = Date.now() + 3000;
  const look = () => {
    const open = stillOpen();
    if (!open.length) process.exit();
    if (Date.now() < deadline) {
      setTimeout(look, 100).unref();
      return;
    }
    process.stderr.write(`test worker: still open after the last test: ${open.join(', ')} (a cleanup is missing)\n`);
    process.exit(1);
  };
  look();
});

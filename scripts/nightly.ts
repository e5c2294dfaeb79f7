// npm run nightly -- --matrix nightly.yaml [--out DIR]: the nightly runner, a zx script over
// campaign/night.ts. It owns the signals and runs each cell as its own `conformance` process, so a
// cell that crashes takes no other cell with it.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { $, type ProcessPromise } from 'zx';
import { MatrixError } from '../campaign/matrix.ts';
import { runNight } from '../campaign/night.ts';
import { LabFileError } from '../lab/labfile.ts';
import { repoRoot } from '../lab/paths.ts';

const USAGE = 'usage: npm run nightly -- --matrix FILE [--out DIR]   (DIR: reports/nightly; one folder per night)';

function fail(message: string, code = 2): never {
  console.error(`error: ${message}`);
  process.exit(code);
}

let values: { matrix?: string; out?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: { matrix: { type: 'string', short: 'm' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }));
} catch (e) {
  fail(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.matrix) fail(`--matrix FILE is needed (an example: nightly.yaml)\n${USAGE}`);

let stopping: NodeJS.Signals | undefined;
let current: ProcessPromise | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (!stopping) console.error(`\nnightly: ${sig}: stopping after the cell running now (its faults are undone)`);
    stopping = sig;
    // The cell's process undoes its faults and exits; in a terminal it got the signal already.
    void current?.kill(sig).catch(() => {});
  });

try {
  const { exitCode } = await runNight({
    matrixFile: values.matrix,
    ...(values.out ? { out: values.out } : {}),
    stopped: () => stopping && `stopped by ${stopping}`,
    log: (line) => console.log(line),
    async conformance(args, env) {
      current = $({
        nothrow: true,
        quiet: true,
        env: { ...process.env, ...env },
      })`node ${join(repoRoot, 'scripts', 'run.mjs')} conformance ${args}`;
      let tail = '';
      current.stdout.on('data', (d: Buffer) => process.stdout.write(d));
      current.stderr.on('data', (d: Buffer) => {
        process.stderr.write(d);
        tail = (tail + d.toString()).slice(-4000);
      });
      const done = await current;
      current = undefined;
      const lines = tail.trim().split('\n');
      return {
        exitCode: done.exitCode ?? undefined,
        lastError: lines.filter((l) => l.startsWith('error:')).pop() ?? lines.pop(),
      };
    },
  });
  process.exit(exitCode);
} catch (e) {
  if (e instanceof MatrixError || e instanceof LabFileError) fail(e.message);
  throw e;
}

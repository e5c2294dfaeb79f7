// l2lab nightly --matrix FILE (npm run nightly --): the nightly runner in zx over campaign/night.ts.
// It owns the signals and runs each cell as its own `l2lab test` process, so a cell that crashes
// takes no other cell with it.
import { join } from 'node:path';
import { $, type ProcessPromise } from 'zx';
import { runNight } from '../../campaign/night.ts';
import { repoRoot } from '../../lab/paths.ts';
import type { ExitCode } from '../exit.ts';

export async function nightlyCommand(o: {
  matrix: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}): Promise<ExitCode> {
  let stopping: NodeJS.Signals | undefined;
  let current: ProcessPromise | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (!stopping) console.error(`\nnightly: ${sig}: stopping after the cell running now (its faults are undone)`);
    stopping = sig;
    // The cell's process undoes its faults and exits; in a terminal it got the signal already.
    void current?.kill(sig).catch(() => {});
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // With --json the night's record alone goes to stdout, at the end; --quiet keeps only that and errors.
  const log = (line: string) => (o.quiet ? undefined : o.json ? console.error(line) : console.log(line));
  const { exitCode, night } = await runNight({
    matrixFile: o.matrix,
    ...(o.out ? { out: o.out } : {}),
    stopped: () => stopping && `stopped by ${stopping}`,
    log,
    async conformance(args, env) {
      current = $({
        nothrow: true,
        quiet: true,
        env: { ...process.env, ...env },
      })`node ${join(repoRoot, 'bin', 'l2lab.mjs')} test ${args}`;
      let tail = '';
      current.stdout.on('data', (d: Buffer) => {
        if (!o.quiet) (o.json ? process.stderr : process.stdout).write(d);
      });
      current.stderr.on('data', (d: Buffer) => {
        if (!o.quiet) process.stderr.write(d);
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
  if (o.json) console.log(JSON.stringify(night, null, 2));
  return exitCode as ExitCode;
}

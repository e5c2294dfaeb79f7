// One l2lab command line, run: parse, run the verb, turn what happened into an exit code
// (cli/exit.ts). bin/l2lab.mjs runs it as a process (cli/l2lab.ts); tests may run it in theirs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { repoRoot } from '../lab/paths.ts';
import { EXIT, type Io } from './exit.ts';
import { npmSwallowed } from './npm.ts';
import { buildProgram, type Outcome } from './program.ts';

const processIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
};

export const l2labVersion = (): string =>
  (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const outcome: Outcome = { code: EXIT.ok };
  const program = buildProgram(l2labVersion(), outcome, io);
  const swallowed = npmSwallowed(program, io.env);
  if (swallowed) {
    io.err(`error: ${swallowed}\n`);
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return outcome.code;
  } catch (e) {
    // The parser printed its message (unknown option, missing argument) or the help asked for.
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const { exitCodeOf } = await import('./errors.ts'); // the error classes of every room: only on failure
    const code = exitCodeOf(e);
    if (code === EXIT.interrupted) io.err('interrupted: the faults were undone\n');
    else io.err(`error: ${(e as Error).message}\n`);
    if (code === EXIT.harness && io.env.L2LAB_DEBUG) io.err(`${(e as Error).stack}\n`);
    return code;
  }
}

// The l2lab command (bin/l2lab.mjs runs it from its bundle): parse, run one verb, exit with the
// code cli/exit.ts defines. The npm scripts are aliases of the same code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { repoRoot } from '../lab/paths.ts';
import { EXIT, exitCodeOf } from './exit.ts';
import { npmSwallowed } from './npm.ts';
import { buildProgram, type Outcome } from './program.ts';

const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

async function main(argv: string[]): Promise<number> {
  const outcome: Outcome = { code: EXIT.ok };
  const program = buildProgram(version, outcome);
  const swallowed = npmSwallowed(program, process.env);
  if (swallowed) {
    console.error(`error: ${swallowed}`);
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    // The parser printed its message (unknown option, missing argument) or the help asked for.
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw e;
  }
  return outcome.code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const code = exitCodeOf(e);
    if (code === EXIT.interrupted) console.error('interrupted: the faults were undone');
    else console.error(`error: ${(e as Error).message}`);
    if (code === EXIT.harness && process.env.L2LAB_DEBUG) console.error((e as Error).stack);
    process.exit(code);
  },
);

// How a play's outcome reaches the person and the shell, the same for `l2lab playbook` and `l2lab cluster`.
import type { Out, RecapRow } from '../playbooks/output.ts';
import { EXIT, type ExitCode } from './exit.ts';

/** Where a play's lines go: with --json stdout is the JSON alone (the lines go to stderr), --quiet drops them. */
export function playOut(o: { json?: boolean; quiet?: boolean }): Out | undefined {
  if (o.quiet) return { write: () => {} };
  return o.json ? { write: (line) => process.stderr.write(`${line}\n`) } : undefined;
}

/** 1 when a task failed, 3 when a host was unreachable (and nothing failed). */
export function playExit(recap: RecapRow[]): ExitCode {
  if (recap.some((r) => r.failed)) return EXIT.failed;
  return recap.some((r) => r.unreachable) ? EXIT.harness : EXIT.ok;
}

// The exit code of an error a command threw (cli/exit.ts says what the codes mean).
import { MatrixError } from '../campaign/matrix.ts';
import { InterruptedError } from '../conformance/fault-session.ts';
import { SubjectError } from '../conformance/subject.ts';
import { MissingPrimitive } from '../lab/faults/fault.ts';
import { FaultError } from '../lab/faults/index.ts';
import { LabFileError } from '../lab/labfile.ts';
import { DataDirError } from '../lab/paths.ts';
import { UsageError } from '../lab/validation.ts';
import { ClusterError } from '../playbooks/cluster/up.ts';
import { InventoryError } from '../playbooks/inventory.ts';
import { PlaybookError } from '../playbooks/playbook.ts';
import { HistoryError } from '../reports/history.ts';
import { EXIT, type ExitCode } from './exit.ts';

/** Errors that mean the input was wrong: the user fixes a flag or a file, l2lab did nothing. */
const badInput = [
  UsageError,
  DataDirError,
  LabFileError,
  SubjectError,
  FaultError,
  MissingPrimitive,
  PlaybookError,
  InventoryError,
  HistoryError,
  MatrixError,
  ClusterError,
];

/** The code for an error; a wrapped one (a rolled-back `lab up`) counts as its cause. */
export function exitCodeOf(e: unknown): ExitCode {
  if (e instanceof InterruptedError) return EXIT.interrupted;
  if (badInput.some((c) => e instanceof c)) return EXIT.usage;
  return e instanceof Error && e.cause ? exitCodeOf(e.cause) : EXIT.harness;
}

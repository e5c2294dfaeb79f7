// The nightly matrix file: validated, every error at once, each with its field.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

export class MatrixError extends Error {}

const leaseText = z
  .string()
  .regex(/^\d+\/\d+\/\d+$/, 'a lease is "duration/renewDeadline/retryPeriod" in ms, e.g. 1000/500/200');

const matrixSchema = z
  .object({
    lab: z.string().optional(),
    trials: z.number().int().min(1).max(100).default(5),
    faults: z.array(z.string()).min(1).optional(),
    only: z.array(z.string()).optional(),
    skip: z.array(z.string()).optional(),
    subjects: z.array(z.string().min(1)).min(1, 'name at least one subject, e.g. [reference, keepalived:fast]'),
    leases: z.array(leaseText).optional(),
    /** Per subject with a version axis (cilium): the versions to move it through, in order. */
    versions: z.record(z.string(), z.array(z.string().min(1)).min(1)).optional(),
    probeInterval: z.number().int().min(5).max(1000).optional(),
  })
  .strict();
export type Matrix = z.infer<typeof matrixSchema>;

/** Reads a matrix file; every problem in it is reported together, each with its field. */
export function loadMatrix(file: string): Matrix {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new MatrixError(`${file}: ${(e as Error).message}`);
  }
  const r = matrixSchema.safeParse(raw ?? {});
  if (!r.success)
    throw new MatrixError(
      `${file}:\n${r.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`).join('\n')}\n(fields: lab, trials, ` +
        `faults, only, skip, subjects, leases, versions.<subject>, probeInterval)`,
    );
  return r.data;
}

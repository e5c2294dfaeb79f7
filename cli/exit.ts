// What a command's exit code means, the same for every verb (the README states it once):
//   0 ok · 1 a check failed or a regression · 2 bad input (nothing created, nothing written)
//   3 a harness error (l2lab or its machines failed, no verdict) · 130 interrupted (faults undone)
// Which error is which lives in cli/errors.ts, loaded only when a command fails.

export const EXIT = { ok: 0, failed: 1, usage: 2, harness: 3, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Where the parser's and the error lines go; the verbs' own output goes to stdout/stderr. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

// Running host commands: one place that wraps failures with what was run and what it said.
import { execa } from 'execa';

export class CommandError extends Error {
  constructor(
    readonly argv: string[],
    readonly exitCode: number | undefined,
    readonly stderr: string,
    readonly stdout = '',
  ) {
    super(
      `${argv.join(' ')} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}${stderr ? `: ${stderr.trim()}` : ''}`,
    );
    this.name = 'CommandError';
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function run(
  argv: string[],
  opts: { input?: string; check?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  const [cmd, ...args] = argv;
  const r = await execa(cmd!, args, {
    reject: false,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    timeout: opts.timeoutMs ?? 60_000,
    env: { LC_ALL: 'C' },
  });
  const exitCode = r.exitCode ?? -1;
  if ((opts.check ?? true) && exitCode !== 0)
    throw new CommandError(
      argv,
      r.exitCode,
      (r.stderr as string) || (r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : ''),
      r.stdout as string,
    );
  return { stdout: r.stdout as string, stderr: r.stderr as string, exitCode };
}

/** Runs and parses `ip -j …` output. */
export async function ipJson<T>(args: string[]): Promise<T> {
  const { stdout } = await run(['ip', '-j', ...args]);
  return (stdout.trim() ? JSON.parse(stdout) : []) as T;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until fn returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  everyMs = 25,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// Running host commands: one place that wraps failures with what was run and what it said.
// node:child_process, not execa: the reference announcer runs this on emulated VMs, where every
// package it loads costs seconds of start-up.
import { spawn } from 'node:child_process';

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
  const r = await new Promise<{
    stdout: string;
    stderr: string;
    code: number | null;
    signal: string | null;
    timedOut: boolean;
  }>((resolve) => {
    const child = spawn(cmd!, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let error: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, opts.timeoutMs ?? 60_000);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      error = e; // not found, not executable: no 'close' may follow a failed spawn
      clearTimeout(timer);
      resolve({ stdout: '', stderr: e.message, code: null, signal: null, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (error) return;
      // as execa: one final newline stripped
      const text = (b: Buffer[]) =>
        Buffer.concat(b)
          .toString('utf8')
          .replace(/\r?\n$/, '');
      resolve({ stdout: text(out), stderr: text(err), code, signal, timedOut });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {}); // a command that exits without reading its input
      child.stdin!.end(opts.input);
    }
  });
  const exitCode = r.code ?? -1;
  if ((opts.check ?? true) && exitCode !== 0)
    throw new CommandError(
      argv,
      r.code ?? undefined,
      r.stderr || (r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : ''),
      r.stdout,
    );
  return { stdout: r.stdout, stderr: r.stderr, exitCode };
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

// Console output an Ansible user recognises: PLAY / TASK headers, a line per host, diffs,
// and the PLAY RECAP. Coloured on a terminal, plain in CI and in files.
import { createTwoFilesPatch } from 'diff';
import type { FileDiff } from './module.ts';

export type Status = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable' | 'ignored';

export interface Out {
  write(line: string): void;
}

const useColour = !!process.stdout.isTTY && !process.env.CI && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);
const colours: Record<Status, string> = {
  ok: '32',
  changed: '33',
  failed: '31',
  skipped: '36',
  unreachable: '1;31',
  ignored: '35',
};

export const consoleOut: Out = { write: (line) => process.stdout.write(`${line}\n`) };

export function header(out: Out, kind: 'PLAY' | 'TASK' | 'RUNNING HANDLER' | 'PLAY RECAP', title?: string): void {
  const text = title === undefined ? kind : `${kind} [${title}]`;
  out.write(`\n${text} ${'*'.repeat(Math.max(3, 78 - text.length))}`);
}

export function hostLine(
  out: Out,
  status: Status,
  host: string,
  detail: { item?: unknown; msg?: string; rc?: number; stderr?: string; stdout?: string },
): void {
  const label =
    status === 'failed'
      ? 'fatal'
      : status === 'unreachable'
        ? 'fatal'
        : status === 'ignored'
          ? 'failed'
          : status === 'skipped'
            ? 'skipping'
            : status;
  const item =
    detail.item === undefined
      ? ''
      : ` => (item=${typeof detail.item === 'string' ? detail.item : JSON.stringify(detail.item)})`;
  let line = `${label}: [${host}]${item}`;
  if (status === 'unreachable') line += ` UNREACHABLE! ${detail.msg ?? ''}`;
  else if (status === 'failed' || status === 'ignored') {
    line += `: FAILED! ${detail.msg ?? ''}${detail.rc !== undefined ? ` (rc=${detail.rc})` : ''}`;
    if (detail.stderr) line += `\n  stderr: ${detail.stderr.split('\n').join('\n          ')}`;
    else if (detail.stdout && detail.rc)
      line += `\n  stdout: ${detail.stdout.split('\n').slice(-10).join('\n          ')}`;
    if (status === 'ignored') line += '\n...ignoring';
  } else if (detail.msg && (status === 'changed' || status === 'skipped')) line += ` ${paint('2', `(${detail.msg})`)}`;
  out.write(paint(colours[status], line));
}

export function diffLines(out: Out, diffs: FileDiff[]): void {
  for (const d of diffs) {
    const text =
      d.unified ??
      createTwoFilesPatch(
        `before: ${d.path}`,
        `after: ${d.path}`,
        d.before ?? '',
        d.after ?? '',
        undefined,
        undefined,
        { context: 3 },
      );
    for (const l of text.split('\n').filter((x) => !/^=+$/.test(x) && !x.startsWith('Index:')))
      out.write(
        l.startsWith('+') && !l.startsWith('+++')
          ? paint('32', l)
          : l.startsWith('-') && !l.startsWith('---')
            ? paint('31', l)
            : l,
      );
  }
}

export interface RecapRow {
  host: string;
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  ignored: number;
}

export function recap(out: Out, rows: RecapRow[], elapsedMs: number): void {
  header(out, 'PLAY RECAP');
  const w = Math.max(...rows.map((r) => r.host.length), 4);
  for (const r of rows) {
    const bad = r.failed || r.unreachable;
    const name = paint(bad ? '31' : r.changed ? '33' : '32', r.host.padEnd(w));
    const f = (k: string, v: number, c: string) => paint(v ? c : '0', `${k}=${v}`.padEnd(k.length + 5));
    out.write(
      `${name} : ${[
        f('ok', r.ok, '32'),
        f('changed', r.changed, '33'),
        f('unreachable', r.unreachable, '31'),
        f('failed', r.failed, '31'),
        f('skipped', r.skipped, '36'),
        f('ignored', r.ignored, '35'),
      ].join('')}`.trimEnd(),
    );
  }
  out.write(`\nelapsed ${(elapsedMs / 1000).toFixed(2)} s`);
}

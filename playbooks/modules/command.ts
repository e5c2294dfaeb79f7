// command: runs a program with its arguments, no shell (pipes and globs are not interpreted).
import { z } from 'zod';
import { q } from '../connection.ts';
import { defineModule, failed } from '../module.ts';
import { runCommandLine } from './common.ts';

/** Splits a command line into words like a shell would (quotes, backslashes), without expanding anything. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '',
    inWord = false,
    quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) {
        words.push(cur);
        cur = '';
        inWord = false;
      }
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote in command`);
  if (inWord) words.push(cur);
  return words;
}

export default defineModule({
  name: 'command',
  freeForm: 'cmd',
  args: z.strictObject({
    cmd: z.string().optional(),
    argv: z.array(z.string()).min(1).optional(),
    chdir: z.string().optional(),
    creates: z.string().optional(),
    removes: z.string().optional(),
    stdin: z.string().optional(),
  }),
  async run(ctx, a) {
    if (!a.cmd === !a.argv) return failed('give either cmd (or the free-form command) or argv');
    const argv = a.argv ?? splitWords(a.cmd!);
    return runCommandLine(ctx, argv.map(q).join(' '), a);
  },
});

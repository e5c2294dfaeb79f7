// One way to say what is wrong with validated input (lab files, subjects, playbooks, agent
// configs, fault parameters): the path of the field, then what is wrong with it.
import type { z } from 'zod';

/** nodes[2].labels, as a user reads a path into a YAML file. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

/** What one issue says, without its path; validKeys names what an unknown key could have been. */
export function issueMessage(i: z.core.$ZodIssue, validKeys: readonly string[] = []): string {
  if (i.code === 'unrecognized_keys') {
    const many = i.keys.length > 1;
    return (
      `unknown key${many ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}; remove ${many ? 'them' : 'it'} or fix the ` +
      `spelling${validKeys.length ? ` (valid keys: ${validKeys.join(', ')})` : ''}`
    );
  }
  if (i.code === 'invalid_type' && i.input === undefined) return `is required (${i.expected})`;
  return i.message;
}

/** "path: message" for every issue, paths under `prefix` (a YAML path of the enclosing object); `top` names the root. */
export function issueLines(
  error: z.ZodError,
  opts: { prefix?: string; top?: string; validKeys?: (path: readonly PropertyKey[]) => readonly string[] } = {},
): string[] {
  return error.issues.map((i) => {
    const inner = formatPath(i.path);
    const path = opts.prefix
      ? `${opts.prefix}${inner ? (inner.startsWith('[') ? inner : `.${inner}`) : ''}`
      : inner || (opts.top ?? '(top)');
    return `${path}: ${issueMessage(i, opts.validKeys?.(i.path))}`;
  });
}

/** Bad command-line input: the CLIs print it and exit 2. */
export class UsageError extends Error {}

// Playbook files: YAML an Ansible user reads without a manual. Raw shape validated here
// (every problem reported with its path), resolved into plays and tasks for the runner.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { playbooksDir } from '../lab/paths.ts';
import { issueLines } from '../lab/validation.ts';
import { modules } from './modules/index.ts';

const TASK_KEYS = [
  'name',
  'when',
  'register',
  'loop',
  'loop_control',
  'notify',
  'tags',
  'changed_when',
  'failed_when',
  'become',
  'become_user',
  'ignore_errors',
  'no_log',
  'vars',
  'args',
  'listen',
] as const;
const PLAY_KEYS = [
  'name',
  'hosts',
  'vars',
  'gather_facts',
  'any_errors_fatal',
  'tasks',
  'handlers',
  'tags',
  'become',
  'become_user',
] as const;

export interface Task {
  name: string;
  path: string; // "plays[0].tasks[3]", for messages
  module: string;
  args: unknown; // raw: templated per host at run time
  when: (string | boolean)[];
  register?: string;
  loop?: unknown;
  loopVar: string;
  notify: string[];
  listen: string[];
  tags: string[];
  changedWhen?: string | boolean;
  failedWhen?: string | boolean;
  become?: boolean;
  becomeUser?: string;
  ignoreErrors: boolean;
  /** Output (stdout, stderr, msg) hidden from the log and the records: the task handles a secret. */
  noLog: boolean;
  vars: Record<string, unknown>;
}

export interface Play {
  name: string;
  hosts: string;
  vars: Record<string, unknown>;
  gatherFacts: boolean;
  anyErrorsFatal: boolean;
  become: boolean;
  becomeUser?: string;
  tags: string[];
  tasks: Task[];
  handlers: Task[];
}

export interface Playbook {
  file: string;
  baseDir: string;
  plays: Play[];
}

export class PlaybookError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'PlaybookError';
  }
}

const strList = z.union([z.string(), z.array(z.string())]).transform((v) => (Array.isArray(v) ? v : [v]));
const cond = z.union([z.string(), z.boolean()]);
const taskSchema = z.looseObject({
  name: z.string().optional(),
  when: z.union([cond, z.array(cond)]).optional(),
  register: z
    .string()
    .regex(/^[A-Za-z_]\w*$/, 'a variable name')
    .optional(),
  loop: z.unknown().optional(),
  loop_control: z.strictObject({ loop_var: z.string().regex(/^[A-Za-z_]\w*$/) }).optional(),
  notify: strList.optional(),
  listen: strList.optional(),
  tags: strList.optional(),
  changed_when: cond.optional(),
  failed_when: cond.optional(),
  become: z.boolean().optional(),
  become_user: z.string().optional(),
  ignore_errors: z.boolean().optional(),
  no_log: z.boolean().optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
  args: z.record(z.string(), z.unknown()).optional(),
});
const playSchema = z.strictObject({
  name: z.string().optional(),
  hosts: z.union([z.string(), z.array(z.string())]).transform((h) => (Array.isArray(h) ? h.join(',') : h)),
  vars: z.record(z.string(), z.unknown()).default({}),
  gather_facts: z.boolean().default(true),
  any_errors_fatal: z.boolean().default(false),
  become: z.boolean().default(false),
  become_user: z.string().optional(),
  tags: strList.default([]),
  tasks: z.array(z.unknown()).default([]),
  handlers: z.array(z.unknown()).default([]),
});

/** Finds a playbook by name (playbooks/NAME.yaml) or path. */
export function findPlaybook(nameOrPath: string): string {
  const here = playbooksDir;
  const candidates = [
    nameOrPath,
    join(here, nameOrPath),
    join(here, `${nameOrPath}.yaml`),
    join(here, `${nameOrPath}.yml`),
  ];
  const hit = candidates.find((c) => existsSync(c) && /\.ya?ml$/.test(c));
  if (!hit)
    throw new PlaybookError(nameOrPath, [
      `no playbook "${nameOrPath}": give a name from playbooks/ (without .yaml) or a path to a YAML file`,
    ]);
  return resolve(hit);
}

export function loadPlaybook(file: string): Playbook {
  return parsePlaybook(readFileSync(file, 'utf8'), file);
}

export function parsePlaybook(text: string, file: string): Playbook {
  const problems: string[] = [];
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length)
    throw new PlaybookError(
      file,
      doc.errors.map((e) => `line ${e.linePos?.[0].line ?? '?'}: YAML: ${e.message.split('\n')[0]}`),
    );
  const raw = doc.toJS();
  if (!Array.isArray(raw)) throw new PlaybookError(file, ['a playbook is a list of plays (each with hosts and tasks)']);
  const plays: Play[] = [];
  raw.forEach((rp: unknown, i: number) => {
    const path = `plays[${i}]`;
    if (rp && typeof rp === 'object' && 'import_playbook' in rp) {
      const keys = Object.keys(rp);
      const target = (rp as { import_playbook: unknown }).import_playbook;
      if (keys.length !== 1 || typeof target !== 'string') {
        problems.push(`${path}: import_playbook takes a file name and nothing else`);
        return;
      }
      try {
        plays.push(
          ...loadPlaybook(
            resolve(dirname(file), target.endsWith('.yaml') || target.endsWith('.yml') ? target : `${target}.yaml`),
          ).plays,
        );
      } catch (e) {
        problems.push(`${path}: import_playbook ${target}: ${(e as Error).message}`);
      }
      return;
    }
    const p = playSchema.safeParse(rp);
    if (!p.success) {
      problems.push(...issueLines(p.error, { prefix: path, validKeys: (at) => (at.length ? [] : PLAY_KEYS) }));
      return;
    }
    const d = p.data;
    const tasks = d.tasks.map((t, j) => parseTask(t, `${path}.tasks[${j}]`, problems)).filter((t): t is Task => !!t);
    const handlers = d.handlers
      .map((t, j) => parseTask(t, `${path}.handlers[${j}]`, problems))
      .filter((t): t is Task => !!t);
    const handlerNames = new Set(handlers.flatMap((h) => [h.name, ...h.listen]));
    for (const t of tasks)
      for (const n of t.notify)
        if (!handlerNames.has(n))
          problems.push(
            `${t.path}.notify: no handler "${n}" in this play (handlers: ${[...handlerNames].join(', ') || 'none'})`,
          );
    plays.push({
      name: d.name ?? d.hosts,
      hosts: d.hosts,
      vars: d.vars,
      gatherFacts: d.gather_facts,
      anyErrorsFatal: d.any_errors_fatal,
      become: d.become,
      becomeUser: d.become_user,
      tags: d.tags,
      tasks,
      handlers,
    });
  });
  if (problems.length) throw new PlaybookError(file, problems);
  return { file, baseDir: dirname(file), plays };
}

function parseTask(raw: unknown, path: string, problems: string[]): Task | undefined {
  const t = taskSchema.safeParse(raw);
  if (!t.success) {
    problems.push(...issueLines(t.error, { prefix: path }));
    return undefined;
  }
  const d = t.data as z.infer<typeof taskSchema> & Record<string, unknown>;
  const extra = Object.keys(d).filter((k) => !(TASK_KEYS as readonly string[]).includes(k));
  const mods = extra.filter((k) => modules[k]);
  const unknown = extra.filter((k) => !modules[k]);
  const label = d.name ? `${path} ("${d.name}")` : path;
  if (unknown.length)
    problems.push(
      `${label}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: not a task keyword (${TASK_KEYS.join(', ')}) nor a ` +
        `module (${Object.keys(modules).join(', ')})`,
    );
  if (mods.length !== 1) {
    if (!unknown.length)
      problems.push(
        `${label}: ${
          mods.length
            ? `several modules (${mods.join(', ')}); one task runs one module`
            : `no module; modules: ${Object.keys(modules).join(', ')}`
        }`,
      );
    return undefined;
  }
  const module = mods[0]!;
  const m = modules[module]!;
  let args = d[module];
  if (typeof args === 'string') {
    if (!m.freeForm) {
      problems.push(`${label}.${module}: takes named arguments (a mapping), not a string`);
      return undefined;
    }
    args = { [m.freeForm]: args, ...(d.args ?? {}) };
  } else if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    problems.push(`${label}.${module}: arguments must be a mapping`);
    return undefined;
  } else if (d.args) args = { ...d.args, ...(args as object) };
  // Argument names are known before any host is reached: check them now.
  const shape = (m.args as unknown as { shape?: Record<string, unknown> }).shape;
  if (shape) {
    const bad = Object.keys(args as object).filter((k) => !(k in shape));
    if (bad.length)
      problems.push(
        `${label}.${module}: unknown argument${bad.length > 1 ? 's' : ''} ${bad.join(', ')} (arguments: ${Object.keys(shape).join(', ')})`,
      );
  }
  return {
    name: d.name ?? `${module}`,
    path,
    module,
    args,
    when: d.when === undefined ? [] : Array.isArray(d.when) ? d.when : [d.when],
    register: d.register,
    loop: d.loop,
    loopVar: d.loop_control?.loop_var ?? 'item',
    notify: d.notify ?? [],
    listen: d.listen ?? [],
    tags: d.tags ?? [],
    changedWhen: d.changed_when,
    failedWhen: d.failed_when,
    become: d.become,
    becomeUser: d.become_user,
    ignoreErrors: d.ignore_errors ?? false,
    noLog: d.no_log ?? false,
    vars: d.vars ?? {},
  };
}

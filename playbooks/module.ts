// The module interface: each module is one file, validated arguments, one run function that
// computes the wanted state, compares, and writes only when not in check mode.
import type { z } from 'zod';
import type { Connection } from './connection.ts';
import type { Facts } from './facts.ts';
import type { InventoryHost } from './inventory.ts';

/** A change to show with --diff: whole before/after texts, or a unified diff made elsewhere (kubectl diff). */
export interface FileDiff {
  path: string;
  before?: string;
  after?: string;
  unified?: string;
}

export interface ModuleResult {
  changed: boolean;
  failed?: boolean;
  skipped?: boolean;
  msg?: string;
  rc?: number;
  stdout?: string;
  stderr?: string;
  diff?: FileDiff[];
  [extra: string]: unknown;
}

/** What is shared by all hosts of one run (e.g. the host's apt on the netns lab). */
export interface RunShared {
  once<T>(key: string, fn: () => Promise<T>): Promise<{ value: T; first: boolean; by: string }>;
}

export interface TaskContext {
  host: InventoryHost;
  conn: Connection;
  check: boolean;
  diff: boolean;
  become: boolean;
  /** Undefined when the play has gather_facts: false. */
  facts?: Facts;
  /** Every variable of the task (play vars, host vars, facts, registered results, item): templates see these. */
  vars: Record<string, unknown>;
  /** Directory of the playbook, for src: paths (templates/, files/). */
  baseDir: string;
  sharedHost?: { lockFile: string };
  shared: RunShared;
}

export interface Module<S extends z.ZodType = z.ZodType> {
  name: string;
  /** Argument schema: strict, so a misspelt argument is named. */
  args: S;
  /** A module that takes a plain string (`command: ls /`) puts it in this argument. */
  freeForm?: string;
  run(ctx: TaskContext, args: z.infer<S>): Promise<ModuleResult>;
}

export function defineModule<S extends z.ZodType>(m: Module<S>): Module<S> {
  return m;
}

/** Shell of a failed command result, for module errors. */
export function failed(msg: string, extra: Partial<ModuleResult> = {}): ModuleResult {
  return { changed: false, failed: true, msg, ...extra };
}

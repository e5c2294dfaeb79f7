// One task on one host, as Ansible runs it: its variables (extra vars win), `when` (per item in
// a loop), the loop, the module with its arguments validated, changed_when / failed_when,
// ignore_errors and register. The runner (runner.ts) calls it for each host of each task.
import { issueLines } from '../lab/validation.ts';
import type { Connection } from './connection.ts';
import { condition, render, renderDeep, TemplateError, UndefinedError } from './expr.ts';
import type { Facts } from './facts.ts';
import type { Inventory } from './inventory.ts';
import type { ModuleResult, RunShared, TaskContext } from './module.ts';
import { modules } from './modules/index.ts';
import type { Out, Status } from './output.ts';
import type { Play, Task } from './playbook.ts';

export interface RunOptions {
  check?: boolean;
  diff?: boolean;
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  forks?: number;
  extraVars?: Record<string, unknown>;
  out?: Out;
}

export interface TaskRecord {
  play: string;
  task: string;
  path: string;
  host: string;
  status: Status;
  changed: boolean;
  item?: unknown;
  msg?: string;
  rc?: number;
  startedAt: string;
  durationMs: number;
  diff?: ModuleResult['diff'];
}

/** Where a play's time went: its slowest tasks (each named once, at its slowest host), "task 12 s". */
export function slowestTasks(records: TaskRecord[], n = 5): string[] {
  return [...records]
    .sort((a, b) => b.durationMs - a.durationMs)
    .filter((x, i, all) => all.findIndex((y) => y.task === x.task) === i)
    .slice(0, n)
    .map((x) => `${x.task} ${(x.durationMs / 1000).toFixed(0)} s`);
}

export interface ExecEnv {
  host: Inventory['hosts'][string];
  conn: Connection;
  facts?: Facts;
  registered: Record<string, unknown>;
  playVars: Record<string, unknown>;
  play: Play;
  inv: Inventory;
  opts: RunOptions;
  shared: RunShared;
  baseDir: string;
}

export type Rec = Omit<TaskRecord, 'play'> & { stderr?: string; stdout?: string };

/** The task's variables: magic ones, play vars, registered results, task vars; extra vars win everywhere (Ansible's -e). */
function taskVars(task: Task, env: ExecEnv): Record<string, unknown> {
  const magic = {
    inventory_hostname: env.host.name,
    groups: env.inv.groups,
    hostvars: Object.fromEntries(Object.entries(env.inv.hosts).map(([k, v]) => [k, v.vars])),
    facts: env.facts ?? {},
    ansible_facts: env.facts ?? {},
    ansible_check_mode: !!env.opts.check,
  };
  // Play and task vars that use extra vars see them too.
  const extra = env.opts.extraVars ?? {};
  const v: Record<string, unknown> = { ...magic, ...env.playVars, ...extra };
  for (const [k, x] of Object.entries(env.playVars)) if (!(k in extra)) v[k] = renderDeep(x, v); // play vars may use each other and facts
  Object.assign(v, env.registered);
  for (const [k, x] of Object.entries(task.vars)) if (!(k in extra)) v[k] = renderDeep(x, v);
  return { ...v, ...extra };
}

/** An error of the task's own templates or module, with where it happened. */
function explain(task: Task, e: unknown, where: string): string {
  return e instanceof UndefinedError || e instanceof TemplateError
    ? `${e.message} in task "${task.name}" (${where})`
    : `${(e as Error).message} (task "${task.name}", ${where})`;
}

/** The module run once with these variables (arguments validated first), then changed_when / failed_when. */
async function runModule(task: Task, env: ExecEnv, iv: Record<string, unknown>): Promise<ModuleResult> {
  const m = modules[task.module]!;
  let result: ModuleResult;
  try {
    const parsed = m.args.safeParse(renderDeep(task.args, iv));
    if (!parsed.success) {
      const msg = issueLines(parsed.error, { top: '(all)' })
        .map((l) => `argument ${l}`)
        .join('; ');
      result = { changed: false, failed: true, msg: `${task.module}: ${msg} (task "${task.name}")` };
    } else {
      const ctx: TaskContext = {
        host: env.host,
        conn: env.conn,
        check: !!env.opts.check,
        diff: !!env.opts.diff,
        become: task.become ?? env.play.become,
        facts: env.facts,
        vars: iv,
        baseDir: env.baseDir,
        sharedHost: env.inv.sharedHost,
        shared: env.shared,
      };
      result = await m.run(ctx, parsed.data);
    }
  } catch (e) {
    result = { changed: false, failed: true, msg: explain(task, e, `module ${task.module}`) };
  }
  try {
    const withResult = task.register ? { ...iv, [task.register]: result } : { ...iv, result };
    // A task that did not run (check mode skips commands) has no output to judge, as in Ansible.
    if (task.changedWhen !== undefined && !result.failed && !result.skipped)
      result.changed = condition(task.changedWhen, withResult);
    if (task.failedWhen !== undefined && !result.skipped) result.failed = condition(task.failedWhen, withResult);
  } catch (e) {
    result = { ...result, failed: true, msg: explain(task, e, 'changed_when/failed_when') };
  }
  return result;
}

/** What `register` keeps: the result with `changed` and `failed` always set, as Ansible's (so `when: x.failed` works after a success). */
const registered = (r: ModuleResult): ModuleResult => ({ ...r, changed: !!r.changed, failed: !!r.failed });

function statusOf(task: Task, r: ModuleResult): Status {
  if (r.failed) return task.ignoreErrors ? 'ignored' : 'failed';
  return r.skipped ? 'skipped' : r.changed ? 'changed' : 'ok';
}

/** One task on one host: when, loop, module, changed_when/failed_when, register. */
export async function executeTask(task: Task, env: ExecEnv): Promise<{ status: Status; records: Rec[] }> {
  const run = new TaskExecution(task, env);
  let v: Record<string, unknown>;
  try {
    v = taskVars(task, env);
  } catch (e) {
    return run.fail(run.why(e, 'vars'));
  }
  if (task.loop === undefined) {
    let no: string | undefined;
    try {
      no = run.falseWhen(v);
    } catch (e) {
      return run.fail(run.why(e, 'when'));
    }
    if (no) return run.skipped(no);
    const r = await run.once(v);
    run.register(r.result);
    return { status: r.status, records: [r.rec] };
  }
  let items: unknown[];
  try {
    const l = typeof task.loop === 'string' ? render(task.loop, v) : renderDeep(task.loop, v);
    if (!Array.isArray(l)) return run.fail(`loop must be a list, got ${typeof l} (task "${task.name}")`);
    items = l;
  } catch (e) {
    return run.fail(run.why(e, 'loop'));
  }
  return run.loop(v, items);
}

type Outcome = { status: Status; result: ModuleResult; rec: Rec };

/** One task on one host, as it goes: its records (with timing), its failures, its registered result. */
class TaskExecution {
  private readonly t0 = Date.now();

  constructor(
    private readonly task: Task,
    private readonly env: ExecEnv,
  ) {}

  rec(status: Status, r: Partial<ModuleResult>, item?: unknown): Rec {
    return {
      task: this.task.name,
      path: this.task.path,
      host: this.env.host.name,
      status,
      changed: !!r.changed,
      item,
      msg: r.msg,
      rc: r.rc,
      stderr: status === 'failed' || status === 'ignored' ? r.stderr : undefined,
      stdout: r.stdout,
      diff: r.diff,
      startedAt: new Date(this.t0).toISOString(),
      durationMs: Date.now() - this.t0,
    };
  }

  why(e: unknown, where: string): string {
    return explain(this.task, e, where);
  }

  register(result: ModuleResult): void {
    if (this.task.register) this.env.registered[this.task.register] = registered(result);
  }

  /** A failure before the module ran (vars, when, loop): its result and record, as a module's failure would be. */
  failure(msg: string, item?: unknown): Outcome {
    const result: ModuleResult = { changed: false, failed: true, msg };
    const status: Status = this.task.ignoreErrors ? 'ignored' : 'failed';
    return { status, result, rec: this.rec(status, result, item) };
  }

  /** The whole task failed before any module ran. */
  fail(msg: string): { status: Status; records: Rec[] } {
    const f = this.failure(msg);
    this.register(f.result);
    return { status: f.status, records: [f.rec] };
  }

  skipped(msg: string): { status: Status; records: Rec[] } {
    const r = { changed: false, skipped: true, msg };
    this.register(r);
    return { status: 'skipped', records: [this.rec('skipped', r)] };
  }

  /** With a loop, `when` is judged per item (it may name the item), as in Ansible. */
  falseWhen(iv: Record<string, unknown>): string | undefined {
    for (const w of this.task.when) if (!condition(w, iv)) return `when: ${String(w)} is false`;
    return undefined;
  }

  async once(iv: Record<string, unknown>, item?: unknown): Promise<Outcome> {
    const result = await runModule(this.task, this.env, iv);
    const status = statusOf(this.task, result);
    return { status, result, rec: this.rec(status, result, item) };
  }

  /** Each item in turn; the first failure ends the loop; registered: every item's result, as Ansible's `results`. */
  async loop(v: Record<string, unknown>, items: unknown[]): Promise<{ status: Status; records: Rec[] }> {
    const { task } = this;
    const results: ModuleResult[] = [];
    const records: Rec[] = [];
    let status: Status = 'ok';
    let skipped = 0;
    for (const item of items) {
      const iv = { ...v, [task.loopVar]: item };
      let no: string | undefined;
      let whenFailed: Outcome | undefined;
      try {
        no = this.falseWhen(iv);
      } catch (e) {
        whenFailed = this.failure(this.why(e, 'when'), item); // this item fails; the loop goes on as after a module's failure
      }
      if (no) {
        skipped++;
        results.push({ changed: false, skipped: true, msg: no, [task.loopVar]: item });
        records.push(this.rec('skipped', { changed: false, skipped: true, msg: no }, item));
        continue;
      }
      const r = whenFailed ?? (await this.once(iv, item));
      results.push({ ...r.result, [task.loopVar]: item });
      records.push(r.rec);
      if (r.status === 'failed') {
        status = 'failed';
        break;
      }
      if (r.status === 'ignored') status = 'ignored';
      if (r.status === 'changed' && status === 'ok') status = 'changed';
    }
    if (items.length === 0) {
      status = 'skipped';
      records.push(this.rec('skipped', { msg: 'empty loop' }));
    } else if (skipped === items.length) status = 'skipped';
    if (task.register)
      this.env.registered[task.register] = {
        changed: results.some((r) => r.changed),
        failed: results.some((r) => r.failed),
        ...(items.length > 0 && skipped === items.length ? { skipped: true } : {}),
        results,
      };
    return { status, records };
  }
}

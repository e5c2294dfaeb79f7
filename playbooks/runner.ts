// Runs a playbook against an inventory, Ansible's linear strategy: each task on every
// active host (in parallel, bounded by forks), then the next task; a failed host stops
// for that host only (any_errors_fatal stops all); notified handlers run once at play end.

import { issueLines } from '../lab/validation.ts';
import { type Connection, SshConnection } from './connection.ts';
import { condition, render, renderDeep, TemplateError, UndefinedError } from './expr.ts';
import { type Facts, gatherFacts } from './facts.ts';
import { type Inventory, selectHosts } from './inventory.ts';
import type { ModuleResult, RunShared, TaskContext } from './module.ts';
import { modules } from './modules/index.ts';
import { consoleOut, diffLines, header, hostLine, type Out, type RecapRow, recap, type Status } from './output.ts';
import type { Play, Playbook, Task } from './playbook.ts';

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

export interface RunReport {
  schema: 'l2lab.playbook/v1';
  playbook: string;
  inventory: string;
  check: boolean;
  startedAt: string;
  elapsedMs: number;
  records: TaskRecord[];
  recap: RecapRow[];
  ok: boolean;
}

interface HostState {
  name: string;
  conn?: Connection;
  facts?: Facts;
  registered: Record<string, unknown>;
  dead?: 'failed' | 'unreachable';
  counts: RecapRow;
}

export async function runPlaybook(pb: Playbook, inv: Inventory, opts: RunOptions = {}): Promise<RunReport> {
  const out = opts.out ?? consoleOut;
  const started = Date.now();
  const records: TaskRecord[] = [];
  const limit = opts.limit ? new Set(selectHosts(inv, opts.limit)) : undefined;
  const hosts = new Map<string, HostState>();
  const state = (h: string) => {
    let s = hosts.get(h);
    if (!s) {
      s = {
        name: h,
        registered: {},
        counts: { host: h, ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, ignored: 0 },
      };
      hosts.set(h, s);
    }
    return s;
  };
  const onceMemo = new Map<string, { p: Promise<unknown>; by: string }>();
  const shared = (host: string): RunShared => ({
    async once<T>(key: string, fn: () => Promise<T>) {
      const hit = onceMemo.get(key);
      if (hit) return { value: (await hit.p) as T, first: false, by: hit.by };
      const p = fn();
      onceMemo.set(key, { p, by: host });
      return { value: await p, first: true, by: host };
    },
  });
  const selected = (t: Task, play: Play) => {
    const tags = [...play.tags, ...t.tags];
    if (opts.skipTags?.some((x) => tags.includes(x))) return false;
    if (!opts.tags?.length) return true;
    return tags.includes('always') || opts.tags.some((x) => tags.includes(x));
  };

  try {
    for (const play of pb.plays) {
      header(out, 'PLAY', play.name);
      // hosts may be templated from extra vars (-e), as in Ansible.
      let active = selectHosts(inv, String(render(play.hosts, { ...opts.extraVars }))).filter(
        (h) => (!limit || limit.has(h)) && !state(h).dead,
      );
      if (!active.length) {
        out.write('skipping: no hosts matched');
        continue;
      }
      const playVars = (h: string) => ({ ...inv.hosts[h]!.vars, ...play.vars });

      // Connect (reused for the whole run) and gather facts once per host.
      const prepare = async (h: string): Promise<void> => {
        const s = state(h);
        if (!s.conn) s.conn = await SshConnection.open(inv.hosts[h]!.ssh);
        if (!s.facts && play.gatherFacts) s.facts = await gatherFacts(s.conn);
      };
      if (play.gatherFacts ? active.some((h) => !state(h).facts) : active.some((h) => !state(h).conn)) {
        // Without gather_facts this step is silent (as in Ansible) unless a host cannot be reached.
        const task = play.gatherFacts ? 'Gathering Facts' : 'Connecting';
        if (play.gatherFacts) header(out, 'TASK', task);
        let headed = play.gatherFacts;
        await forEachHost(active, opts.forks, async (h) => {
          const t0 = Date.now();
          const rec = {
            play: play.name,
            task,
            path: 'facts',
            host: h,
            changed: false,
            startedAt: new Date(t0).toISOString(),
          };
          try {
            await prepare(h);
            if (!play.gatherFacts) return;
            state(h).counts.ok++;
            hostLine(out, 'ok', h, {});
            records.push({ ...rec, status: 'ok', durationMs: Date.now() - t0 });
          } catch (e) {
            if (!headed) {
              header(out, 'TASK', task);
              headed = true;
            }
            state(h).dead = 'unreachable';
            state(h).counts.unreachable++;
            hostLine(out, 'unreachable', h, { msg: (e as Error).message });
            records.push({ ...rec, status: 'unreachable', msg: (e as Error).message, durationMs: Date.now() - t0 });
          }
        });
        active = active.filter((h) => !state(h).dead);
      }

      const notified = new Map<string, Set<string>>(); // handler name/listen -> hosts
      const runOne = async (task: Task, h: string, handler: boolean) => {
        const s = state(h);
        const recs = await executeTask(task, {
          host: inv.hosts[h]!,
          conn: s.conn!,
          facts: s.facts,
          registered: s.registered,
          playVars: playVars(h),
          play,
          inv,
          opts,
          shared: shared(h),
          baseDir: pb.baseDir,
        });
        for (const raw of recs.records) {
          // As Ansible: a no_log task's result is replaced, in the log and in the JSON records.
          const r = task.noLog
            ? {
                ...raw,
                msg: "the output has been hidden due to the 'no_log: true' setting",
                stdout: undefined,
                stderr: undefined,
              }
            : raw;
          records.push({ ...r, play: play.name });
          hostLine(out, r.status, h, { item: r.item, msg: r.msg, rc: r.rc, stderr: r.stderr, stdout: r.stdout });
          if (opts.diff && r.diff?.length) diffLines(out, r.diff);
        }
        const status = recs.status;
        if (status === 'failed') {
          s.dead = 'failed';
          s.counts.failed++;
        } else if (status === 'skipped') s.counts.skipped++;
        else if (status === 'ignored') {
          s.counts.ignored++;
          s.counts.ok++;
        } else {
          s.counts.ok++;
          if (status === 'changed') s.counts.changed++;
        }
        if (status === 'changed' && !handler)
          for (const n of task.notify) {
            let set = notified.get(n);
            if (!set) notified.set(n, (set = new Set()));
            set.add(h);
          }
      };

      for (const task of play.tasks) {
        if (!selected(task, play)) continue;
        header(out, 'TASK', task.name);
        await forEachHost(active, opts.forks, (h) => runOne(task, h, false));
        const before = active.length;
        active = active.filter((h) => !state(h).dead);
        if (play.anyErrorsFatal && active.length < before) {
          out.write('NO MORE HOSTS LEFT (any_errors_fatal: a host failed)');
          for (const h of active) {
            state(h).dead = 'failed';
          }
          active = [];
          break;
        }
        if (!active.length) break;
      }
      for (const handler of play.handlers) {
        const targets = active.filter((h) => [handler.name, ...handler.listen].some((n) => notified.get(n)?.has(h)));
        if (!targets.length) continue;
        header(out, 'RUNNING HANDLER', handler.name);
        await forEachHost(targets, opts.forks, (h) => runOne(handler, h, true));
        active = active.filter((h) => !state(h).dead);
      }
    }
  } finally {
    for (const s of hosts.values()) s.conn?.close();
  }
  const rows = [...hosts.values()].map((s) => s.counts);
  const elapsedMs = Date.now() - started;
  recap(out, rows, elapsedMs);
  return {
    schema: 'l2lab.playbook/v1',
    playbook: pb.file,
    inventory: inv.source,
    check: !!opts.check,
    startedAt: new Date(started).toISOString(),
    elapsedMs,
    records,
    recap: rows,
    ok: rows.every((r) => !r.failed && !r.unreachable),
  };
}

async function forEachHost(
  hosts: string[],
  forks: number | undefined,
  fn: (h: string) => Promise<void>,
): Promise<void> {
  const queue = [...hosts];
  const width = Math.max(1, Math.min(forks ?? hosts.length, hosts.length));
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let h = queue.shift(); h; h = queue.shift()) await fn(h);
    }),
  );
}

interface ExecEnv {
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

type Rec = Omit<TaskRecord, 'play'> & { stderr?: string; stdout?: string };

/** One task on one host: when, loop, module, changed_when/failed_when, register. */
async function executeTask(task: Task, env: ExecEnv): Promise<{ status: Status; records: Rec[] }> {
  const t0 = Date.now();
  const base = { task: task.name, path: task.path, host: env.host.name };
  const rec = (status: Status, r: Partial<ModuleResult>, item?: unknown): Rec => ({
    ...base,
    status,
    changed: !!r.changed,
    item,
    msg: r.msg,
    rc: r.rc,
    stderr: status === 'failed' || status === 'ignored' ? r.stderr : undefined,
    stdout: r.stdout,
    diff: r.diff,
    startedAt: new Date(t0).toISOString(),
    durationMs: Date.now() - t0,
  });
  const vars = (): Record<string, unknown> => {
    const magic = {
      inventory_hostname: env.host.name,
      groups: env.inv.groups,
      hostvars: Object.fromEntries(Object.entries(env.inv.hosts).map(([k, v]) => [k, v.vars])),
      facts: env.facts ?? {},
      ansible_facts: env.facts ?? {},
      ansible_check_mode: !!env.opts.check,
    };
    // Extra vars win everywhere (Ansible's -e): play and task vars that use them see them too.
    const extra = env.opts.extraVars ?? {};
    const v: Record<string, unknown> = { ...magic, ...env.playVars, ...extra };
    for (const [k, x] of Object.entries(env.playVars)) if (!(k in extra)) v[k] = renderDeep(x, v); // play vars may use each other and facts
    Object.assign(v, env.registered);
    for (const [k, x] of Object.entries(task.vars)) if (!(k in extra)) v[k] = renderDeep(x, v);
    return { ...v, ...extra };
  };
  /** A failure before the module ran (vars, when, loop): its result and record, as a module's failure would be. */
  const failure = (msg: string, item?: unknown): { status: Status; result: ModuleResult; rec: Rec } => {
    const result: ModuleResult = { changed: false, failed: true, msg };
    const status: Status = task.ignoreErrors ? 'ignored' : 'failed';
    return { status, result, rec: rec(status, result, item) };
  };
  /** The whole task failed before any module ran. */
  const fail = (msg: string): { status: Status; records: Rec[] } => {
    const f = failure(msg);
    if (task.register) env.registered[task.register] = f.result;
    return { status: f.status, records: [f.rec] };
  };
  const explain = (e: unknown, where: string) =>
    e instanceof UndefinedError
      ? `${e.message} in task "${task.name}" (${where})`
      : e instanceof TemplateError
        ? `${e.message} in task "${task.name}" (${where})`
        : `${(e as Error).message} (task "${task.name}", ${where})`;

  let v: Record<string, unknown>;
  try {
    v = vars();
  } catch (e) {
    return fail(explain(e, 'vars'));
  }
  // With a loop, `when` is judged per item (it may name the item), as in Ansible.
  const falseWhen = (iv: Record<string, unknown>): string | undefined => {
    for (const w of task.when) if (!condition(w, iv)) return `when: ${String(w)} is false`;
    return undefined;
  };
  if (task.loop === undefined)
    try {
      const no = falseWhen(v);
      if (no) {
        const r = { changed: false, skipped: true, msg: no };
        if (task.register) env.registered[task.register] = r;
        return { status: 'skipped', records: [rec('skipped', r)] };
      }
    } catch (e) {
      return fail(explain(e, 'when'));
    }

  let items: unknown[] | undefined;
  if (task.loop !== undefined) {
    try {
      const l = typeof task.loop === 'string' ? render(task.loop, v) : renderDeep(task.loop, v);
      if (!Array.isArray(l)) return fail(`loop must be a list, got ${typeof l} (task "${task.name}")`);
      items = l;
    } catch (e) {
      return fail(explain(e, 'loop'));
    }
  }

  const once = async (
    iv: Record<string, unknown>,
    item?: unknown,
  ): Promise<{ status: Status; result: ModuleResult; rec: Rec }> => {
    const m = modules[task.module]!;
    let result: ModuleResult;
    try {
      const raw = renderDeep(task.args, iv);
      const parsed = m.args.safeParse(raw);
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
      result = { changed: false, failed: true, msg: explain(e, `module ${task.module}`) };
    }
    try {
      const withResult = task.register ? { ...iv, [task.register]: result } : { ...iv, result };
      // A task that did not run (check mode skips commands) has no output to judge, as in Ansible.
      if (task.changedWhen !== undefined && !result.failed && !result.skipped)
        result.changed = condition(task.changedWhen, withResult);
      if (task.failedWhen !== undefined && !result.skipped) result.failed = condition(task.failedWhen, withResult);
    } catch (e) {
      result = { ...result, failed: true, msg: explain(e, 'changed_when/failed_when') };
    }
    const status: Status = result.failed
      ? task.ignoreErrors
        ? 'ignored'
        : 'failed'
      : result.skipped
        ? 'skipped'
        : result.changed
          ? 'changed'
          : 'ok';
    return { status, result, rec: rec(status, result, item) };
  };

  if (!items) {
    const r = await once(v);
    if (task.register) env.registered[task.register] = r.result;
    return { status: r.status, records: [r.rec] };
  }
  const results: ModuleResult[] = [];
  const records: Rec[] = [];
  let status: Status = 'ok';
  let skipped = 0;
  for (const item of items) {
    const iv = { ...v, [task.loopVar]: item };
    let no: string | undefined;
    let whenFailed: ReturnType<typeof failure> | undefined;
    try {
      no = falseWhen(iv);
    } catch (e) {
      whenFailed = failure(explain(e, 'when'), item); // this item fails; the loop goes on as after a module's failure
    }
    if (no) {
      skipped++;
      results.push({ changed: false, skipped: true, msg: no, [task.loopVar]: item });
      records.push(rec('skipped', { changed: false, skipped: true, msg: no }, item));
      continue;
    }
    const r = whenFailed ?? (await once(iv, item));
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
    records.push(rec('skipped', { msg: 'empty loop' }));
  } else if (skipped === items.length) status = 'skipped';
  if (task.register)
    env.registered[task.register] = {
      changed: results.some((r) => r.changed),
      failed: results.some((r) => r.failed),
      ...(items.length > 0 && skipped === items.length ? { skipped: true } : {}),
      results,
    };
  return { status, records };
}

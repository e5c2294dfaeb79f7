// Runs a playbook against an inventory, Ansible's linear strategy: each task on every
// active host (in parallel, bounded by forks), then the next task; a failed host stops
// for that host only (any_errors_fatal stops all); notified handlers run once at play end.

import { type Connection, SshConnection } from './connection.ts';
import { render } from './expr.ts';
import { type Facts, gatherFacts } from './facts.ts';
import { type Inventory, selectHosts } from './inventory.ts';
import type { RunShared } from './module.ts';
import { consoleOut, diffLines, header, hostLine, type Out, type RecapRow, recap } from './output.ts';
import type { Play, Playbook, Task } from './playbook.ts';
import { executeTask, type RunOptions, type TaskRecord } from './task.ts';

export type { RunOptions, TaskRecord };

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
  const run = new PlaybookRun(pb, inv, opts);
  try {
    for (const play of pb.plays) await run.play(play);
  } finally {
    run.close();
  }
  return run.report();
}

/** One run of a playbook: its hosts' connections, facts, registered results and counts, and its records. */
class PlaybookRun {
  private readonly out: Out;
  private readonly started = Date.now();
  private readonly records: TaskRecord[] = [];
  private readonly limit?: Set<string>;
  private readonly hosts = new Map<string, HostState>();
  private readonly onceMemo = new Map<string, { p: Promise<unknown>; by: string }>();

  constructor(
    private readonly pb: Playbook,
    private readonly inv: Inventory,
    private readonly opts: RunOptions,
  ) {
    this.out = opts.out ?? consoleOut;
    this.limit = opts.limit ? new Set(selectHosts(inv, opts.limit)) : undefined;
  }

  private state(h: string): HostState {
    let s = this.hosts.get(h);
    if (!s) {
      s = {
        name: h,
        registered: {},
        counts: { host: h, ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, ignored: 0 },
      };
      this.hosts.set(h, s);
    }
    return s;
  }

  /** Work a task does once per run whatever the host (a download, a shared host's apt). */
  private shared(host: string): RunShared {
    const memo = this.onceMemo;
    return {
      async once<T>(key: string, fn: () => Promise<T>) {
        const hit = memo.get(key);
        if (hit) return { value: (await hit.p) as T, first: false, by: hit.by };
        const p = fn();
        memo.set(key, { p, by: host });
        return { value: await p, first: true, by: host };
      },
    };
  }

  private selected(t: Task, play: Play): boolean {
    const tags = [...play.tags, ...t.tags];
    if (this.opts.skipTags?.some((x) => tags.includes(x))) return false;
    if (!this.opts.tags?.length) return true;
    return tags.includes('always') || this.opts.tags.some((x) => tags.includes(x));
  }

  async play(play: Play): Promise<void> {
    const { out, opts } = this;
    header(out, 'PLAY', play.name);
    // hosts may be templated from extra vars (-e), as in Ansible.
    let active = selectHosts(this.inv, String(render(play.hosts, { ...opts.extraVars }))).filter(
      (h) => (!this.limit || this.limit.has(h)) && !this.state(h).dead,
    );
    if (!active.length) {
      out.write('skipping: no hosts matched');
      return;
    }
    active = await this.connect(play, active);
    const notified = new Map<string, Set<string>>(); // handler name/listen -> hosts
    for (const task of play.tasks) {
      if (!this.selected(task, play)) continue;
      header(out, 'TASK', task.name);
      await forEachHost(active, opts.forks, (h) => this.runOne(play, task, h, notified));
      const before = active.length;
      active = active.filter((h) => !this.state(h).dead);
      if (play.anyErrorsFatal && active.length < before) {
        out.write('NO MORE HOSTS LEFT (any_errors_fatal: a host failed)');
        for (const h of active) this.state(h).dead = 'failed';
        active = [];
        break;
      }
      if (!active.length) break;
    }
    for (const handler of play.handlers) {
      const targets = active.filter((h) => [handler.name, ...handler.listen].some((n) => notified.get(n)?.has(h)));
      if (!targets.length) continue;
      header(out, 'RUNNING HANDLER', handler.name);
      await forEachHost(targets, opts.forks, (h) => this.runOne(play, handler, h));
      active = active.filter((h) => !this.state(h).dead);
    }
  }

  /** Connects (reused for the whole run) and gathers facts once per host; returns the hosts reached. */
  private async connect(play: Play, active: string[]): Promise<string[]> {
    const { out, inv } = this;
    const need = play.gatherFacts ? active.some((h) => !this.state(h).facts) : active.some((h) => !this.state(h).conn);
    if (!need) return active;
    // Without gather_facts this step is silent (as in Ansible) unless a host cannot be reached.
    const task = play.gatherFacts ? 'Gathering Facts' : 'Connecting';
    if (play.gatherFacts) header(out, 'TASK', task);
    let headed = play.gatherFacts;
    await forEachHost(active, this.opts.forks, async (h) => {
      const t0 = Date.now();
      const rec = {
        play: play.name,
        task,
        path: 'facts',
        host: h,
        changed: false,
        startedAt: new Date(t0).toISOString(),
      };
      const s = this.state(h);
      try {
        if (!s.conn) s.conn = await SshConnection.open(inv.hosts[h]!.ssh);
        if (!s.facts && play.gatherFacts) s.facts = await gatherFacts(s.conn);
        if (!play.gatherFacts) return;
        s.counts.ok++;
        hostLine(out, 'ok', h, {});
        this.records.push({ ...rec, status: 'ok', durationMs: Date.now() - t0 });
      } catch (e) {
        if (!headed) {
          header(out, 'TASK', task);
          headed = true;
        }
        s.dead = 'unreachable';
        s.counts.unreachable++;
        hostLine(out, 'unreachable', h, { msg: (e as Error).message });
        this.records.push({ ...rec, status: 'unreachable', msg: (e as Error).message, durationMs: Date.now() - t0 });
      }
    });
    return active.filter((h) => !this.state(h).dead);
  }

  /** One task on one host: its records and output, the host's counts, and the handlers it notifies (none for a handler). */
  private async runOne(play: Play, task: Task, h: string, notified?: Map<string, Set<string>>): Promise<void> {
    const { out, opts } = this;
    const s = this.state(h);
    const recs = await executeTask(task, {
      host: this.inv.hosts[h]!,
      conn: s.conn!,
      facts: s.facts,
      registered: s.registered,
      playVars: { ...this.inv.hosts[h]!.vars, ...play.vars },
      play,
      inv: this.inv,
      opts,
      shared: this.shared(h),
      baseDir: this.pb.baseDir,
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
      this.records.push({ ...r, play: play.name });
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
    if (status === 'changed' && notified)
      for (const n of task.notify) {
        let set = notified.get(n);
        if (!set) notified.set(n, (set = new Set()));
        set.add(h);
      }
  }

  close(): void {
    for (const s of this.hosts.values()) s.conn?.close();
  }

  report(): RunReport {
    const rows = [...this.hosts.values()].map((s) => s.counts);
    const elapsedMs = Date.now() - this.started;
    recap(this.out, rows, elapsedMs);
    return {
      schema: 'l2lab.playbook/v1',
      playbook: this.pb.file,
      inventory: this.inv.source,
      check: !!this.opts.check,
      startedAt: new Date(this.started).toISOString(),
      elapsedMs,
      records: this.records,
      recap: rows,
      ok: rows.every((r) => !r.failed && !r.unreachable),
    };
  }
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

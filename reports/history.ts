// The run history: every conformance run indexed in one SQLite file (reports/history.sqlite), keyed
// by what makes runs comparable (subject and its settings, version, lab, provider, lease, l2lab
// commit, kernel). The run folders stay the truth: the history only reads them, and a folder it
// cannot read is reported and skipped, never fatal.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { dataPaths } from '../lab/paths.ts';
import { type RunResults, runResultsSchema } from '../results/schema.ts';

/** Where the history lives: L2LAB_HISTORY overrides; "off" turns indexing off. */
export function historyPath(): string | undefined {
  const env = process.env.L2LAB_HISTORY;
  if (env === 'off') return undefined;
  return env ? resolve(env) : dataPaths().history;
}

/** One run as the history knows it. */
export interface RunRow {
  id: string;
  /** The run folder's name: how people refer to a run. */
  name: string;
  dir: string;
  startedAt: string;
  finishedAt: string;
  subject: string;
  version: string;
  lab: string;
  provider: string;
  /** "duration/renewDeadline/retryPeriod" in ms, or null for subjects without a lease. */
  lease: string | null;
  l2labCommit: string;
  kernel: string;
  probeIntervalMs: number;
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
  trials: number;
}

export interface CheckRow {
  runId: string;
  check: string;
  status: string;
  reason: string | null;
}

export interface TrialRow {
  runId: string;
  check: string;
  fault: string;
  trial: number;
  budgetMs: number;
  passed: boolean;
  /**
   * Per family the outage (ms); null: measured, but no other node took over within the window;
   * undefined: not measured (a family the subject does not claim).
   */
  arpOutageMs?: number | null;
  ndpOutageMs?: number | null;
  httpOutageMs?: number | null;
}

/** What a selection may filter on; every field must match. */
export interface RunFilter {
  subject?: string;
  version?: string;
  lab?: string;
  provider?: string;
  lease?: string;
  commit?: string;
  kernel?: string;
  /** ISO date or time: runs started at or after it. */
  since?: string;
  until?: string;
  /** Only the N most recent matching runs. */
  last?: number;
}

export interface ImportOutcome {
  added: string[];
  unchanged: string[];
  updated: string[];
  skipped: { dir: string; reason: string }[];
}

// results.json is read through its one schema (results/schema.ts): a file from an older l2lab
// imports with defaults for what it did not write.
const resultsSchema = runResultsSchema;
type Parsed = RunResults;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  dir TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  subject TEXT NOT NULL,
  version TEXT NOT NULL,
  lab TEXT NOT NULL,
  provider TEXT NOT NULL,
  lease TEXT,
  l2lab_commit TEXT NOT NULL,
  kernel TEXT NOT NULL,
  probe_interval_ms INTEGER NOT NULL,
  passed INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  skipped INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  trials INTEGER NOT NULL,
  features TEXT NOT NULL,
  results_sha256 TEXT NOT NULL,
  imported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_subject ON runs (subject, version, started_at);
CREATE INDEX IF NOT EXISTS runs_by_name ON runs (name);
CREATE TABLE IF NOT EXISTS checks (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  check_id TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  PRIMARY KEY (run_id, check_id)
);
CREATE TABLE IF NOT EXISTS trials (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  check_id TEXT NOT NULL,
  fault TEXT NOT NULL,
  trial INTEGER NOT NULL,
  budget_ms REAL NOT NULL,
  passed INTEGER NOT NULL,
  arp_outage_ms REAL,
  ndp_outage_ms REAL,
  http_outage_ms REAL,
  measured TEXT NOT NULL,
  PRIMARY KEY (run_id, check_id, fault, trial)
);
CREATE TABLE IF NOT EXISTS figures (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  check_id TEXT NOT NULL,
  name TEXT NOT NULL,
  value REAL,
  PRIMARY KEY (run_id, check_id, name)
);`;
const SCHEMA_VERSION = 1;

export class HistoryError extends Error {}

export class History {
  private readonly db: Database.Database;

  private constructor(
    readonly path: string,
    readOnly: boolean,
  ) {
    try {
      // Read-only commands never write the file; a history not made yet reads as an empty one.
      this.db = readOnly
        ? existsSync(path)
          ? new Database(path, { readonly: true, fileMustExist: true })
          : new Database(':memory:')
        : new Database(path);
    } catch (e) {
      throw new HistoryError(`cannot open the run history ${path}: ${(e as Error).message}`);
    }
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = ON');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new HistoryError(
        `the run history ${path} was written by a newer l2lab (schema ${version}, this one knows ${SCHEMA_VERSION}); update l2lab or ` +
          `set L2LAB_HISTORY to another file`,
      );
    if (this.db.readonly) return; // an existing history, read as it is (a missing one is an empty one in memory)
    // Several l2lab processes (a nightly matrix, a person listing) may share one history.
    this.db.pragma('journal_mode = WAL');
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }

  static open(path = historyPath() ?? dataPaths().history, opts: { readOnly?: boolean } = {}): History {
    return new History(path, opts.readOnly ?? false);
  }

  close(): void {
    this.db.close();
  }

  /** Indexes one run folder the suite has just written. */
  add(dir: string): ImportOutcome {
    return this.importDirs([dir]);
  }

  /**
   * Imports run folders. Each argument is a run folder (it holds results.json) or a folder of
   * run folders (reports/). A folder that cannot be read is skipped with the reason.
   */
  importDirs(dirs: string[]): ImportOutcome {
    const out: ImportOutcome = { added: [], unchanged: [], updated: [], skipped: [] };
    const runDirs: string[] = [];
    for (const d of dirs) {
      const abs = resolve(d);
      if (!existsSync(abs) || !statSync(abs).isDirectory()) {
        out.skipped.push({ dir: d, reason: 'not a folder' });
        continue;
      }
      if (existsSync(join(abs, 'results.json'))) {
        runDirs.push(abs);
        continue;
      }
      const children = readdirSync(abs, { withFileTypes: true }).filter((e) => e.isDirectory());
      const runs = children.filter((e) => existsSync(join(abs, e.name, 'results.json')));
      // A folder of runs: its children without results.json are runs that never finished (or
      // comparisons: those hold comparison.json and are not runs).
      for (const e of children)
        if (!runs.includes(e) && looksLikeRun(e.name) && !isComparison(join(abs, e.name)))
          out.skipped.push({ dir: join(abs, e.name), reason: 'no results.json (the run did not finish)' });
      if (!runs.length && !children.some((e) => looksLikeRun(e.name)))
        out.skipped.push({ dir: d, reason: 'no results.json here nor in its sub-folders: not a run folder' });
      runDirs.push(...runs.map((e) => join(abs, e.name)));
    }
    const one = (dir: string) => {
      let text: string;
      try {
        text = readFileSync(join(dir, 'results.json'), 'utf8');
      } catch (e) {
        out.skipped.push({ dir, reason: `cannot read results.json: ${(e as Error).message}` });
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        out.skipped.push({ dir, reason: `results.json is not JSON (a partial write?): ${(e as Error).message}` });
        return;
      }
      const parsed = resultsSchema.safeParse(json);
      if (!parsed.success) {
        const first = parsed.error.issues[0]!;
        out.skipped.push({
          dir,
          reason: `results.json is not an l2lab run: ${first.path.join('.') || '(top)'}: ${first.message}`,
        });
        return;
      }
      const done = this.insert(dir, parsed.data, sha256(text));
      if (typeof done === 'string') out[done].push(dir);
      else out.skipped.push({ dir, reason: `a copy of the run in ${done.copyOf} (the same run is indexed once)` });
    };
    // One transaction for the lot: a thousand runs import in a second, not a minute.
    this.db.transaction(() => runDirs.forEach(one))();
    return out;
  }

  private insert(dir: string, r: Parsed, digest: string): 'added' | 'unchanged' | 'updated' | { copyOf: string } {
    const { run, checks, trials } = runRows(dir, r);
    const old = this.db.prepare('SELECT results_sha256 AS digest, dir FROM runs WHERE id = ?').get(run.id) as
      | { digest: string; dir: string }
      | undefined;
    if (old?.digest === digest && old.dir === dir) return 'unchanged';
    // A run is who ran what when (its id), not where its folder is: a copy whose original is still
    // there is the same run, kept once; a folder moved away from its old place moves with it.
    if (old?.digest === digest && existsSync(join(old.dir, 'results.json'))) return { copyOf: old.dir };
    const write = this.db.transaction(() => {
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(run.id);
      this.db
        .prepare(
          `INSERT INTO runs VALUES (@id, @name, @dir, @startedAt, @finishedAt, @subject, @version, @lab, @provider,
            @lease, @l2labCommit, @kernel, @probeIntervalMs, @passed, @failed, @skipped, @errors, @trials, @features, @digest, @now)`,
        )
        .run({ ...run, features: r.subject.features.join(','), digest, now: new Date().toISOString() });
      const check = this.db.prepare('INSERT INTO checks VALUES (?, ?, ?, ?)');
      for (const c of checks) check.run(run.id, c.check, c.status, c.reason);
      // Each check's numeric figures (scale-curve's points among them); null where nothing was measured.
      const figure = this.db.prepare('INSERT OR REPLACE INTO figures VALUES (?, ?, ?, ?)');
      for (const c of r.checks)
        for (const [name, v] of Object.entries(c.figures ?? {}))
          if (typeof v === 'number' || v === null) figure.run(run.id, c.id, name, v);
      const trial = this.db.prepare('INSERT OR REPLACE INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      const families = ['arp', 'ndp', 'http'] as const;
      const outage = (t: TrialRow, f: (typeof families)[number]) =>
        f === 'arp' ? t.arpOutageMs : f === 'ndp' ? t.ndpOutageMs : t.httpOutageMs;
      for (const t of trials)
        trial.run(
          run.id,
          t.check,
          t.fault,
          t.trial,
          t.budgetMs,
          t.passed ? 1 : 0,
          t.arpOutageMs ?? null,
          t.ndpOutageMs ?? null,
          t.httpOutageMs ?? null,
          // Which families the trial measured: a measured family without an outage had no takeover.
          families.filter((f) => outage(t, f) !== undefined).join(','),
        );
    });
    write();
    return old ? 'updated' : 'added';
  }

  /** A run's figures of one check (name → value; null where nothing was measured). */
  figures(runId: string, check: string): Record<string, number | null> {
    const rows = this.db
      .prepare('SELECT name, value FROM figures WHERE run_id = ? AND check_id = ? ORDER BY name')
      .all(runId, check) as { name: string; value: number | null }[];
    return Object.fromEntries(rows.map((x) => [x.name, x.value]));
  }

  /** Runs matching every field of the filter, oldest first. */
  list(f: RunFilter = {}): RunRow[] {
    const where: string[] = [];
    const args: Record<string, string | number> = {};
    const eq = (col: string, key: keyof RunFilter) => {
      const v = f[key];
      if (v === undefined) return;
      where.push(`${col} = @${key}`);
      args[key] = v;
    };
    eq('subject', 'subject');
    eq('version', 'version');
    eq('lab', 'lab');
    eq('provider', 'provider');
    eq('lease', 'lease');
    eq('kernel', 'kernel');
    if (f.commit !== undefined) {
      where.push('l2lab_commit LIKE @commit'); // a commit prefix names it, as git does
      args.commit = `${f.commit}%`;
    }
    if (f.since !== undefined) {
      where.push('started_at >= @since');
      args.since = isoFloor(f.since, 'since');
    }
    if (f.until !== undefined) {
      where.push('started_at <= @until');
      args.until = isoFloor(f.until, 'until');
    }
    const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC ${
      f.last !== undefined ? 'LIMIT @last' : ''
    }`;
    if (f.last !== undefined) args.last = f.last;
    return (this.db.prepare(sql).all(args) as DbRun[]).map(toRow).reverse();
  }

  /**
   * A run by its folder path, else its id or folder name (the newest of that name). A path names
   * one folder: nightly cells share their folder names night after night, and the run at a path not
   * indexed yet is not another night's run of the same name.
   */
  find(ref: string): RunRow | undefined {
    const byDir = this.db.prepare('SELECT * FROM runs WHERE dir = ?').get(resolve(ref)) as DbRun | undefined;
    if (byDir || ref.includes('/')) return byDir && toRow(byDir);
    const row = this.db
      .prepare('SELECT * FROM runs WHERE id = ? OR name = ? ORDER BY started_at DESC LIMIT 1')
      .get(ref, ref) as DbRun | undefined;
    return row && toRow(row);
  }

  /** The runs with their checks and trials: one side of a comparison. */
  side(label: string, runs: RunRow[]): { label: string; runs: RunRow[]; checks: CheckRow[]; trials: TrialRow[] } {
    const ids = runs.map((r) => r.id);
    return { label, runs, checks: this.checks(ids), trials: this.trials(ids) };
  }

  checks(runIds: string[]): CheckRow[] {
    return runIds.flatMap((id) =>
      (
        this.db.prepare('SELECT run_id, check_id, status, reason FROM checks WHERE run_id = ?').all(id) as {
          run_id: string;
          check_id: string;
          status: string;
          reason: string | null;
        }[]
      ).map((c) => ({ runId: c.run_id, check: c.check_id, status: c.status, reason: c.reason })),
    );
  }

  trials(runIds: string[]): TrialRow[] {
    const out: TrialRow[] = [];
    for (const id of runIds) {
      const rows = this.db.prepare('SELECT * FROM trials WHERE run_id = ? ORDER BY check_id, fault, trial').all(id) as {
        run_id: string;
        check_id: string;
        fault: string;
        trial: number;
        budget_ms: number;
        passed: number;
        arp_outage_ms: number | null;
        ndp_outage_ms: number | null;
        http_outage_ms: number | null;
        measured: string;
      }[];
      for (const t of rows) {
        const measured = new Set(t.measured.split(','));
        out.push({
          runId: t.run_id,
          check: t.check_id,
          fault: t.fault,
          trial: t.trial,
          budgetMs: t.budget_ms,
          passed: t.passed === 1,
          ...(measured.has('arp') ? { arpOutageMs: t.arp_outage_ms } : {}),
          ...(measured.has('ndp') ? { ndpOutageMs: t.ndp_outage_ms } : {}),
          ...(measured.has('http') ? { httpOutageMs: t.http_outage_ms } : {}),
        });
      }
    }
    return out;
  }
}

/**
 * A run's rows as the history stores them, from its results: what a comparison reads, with or
 * without a history file.
 */
export function runRows(dir: string, results: unknown): { run: RunRow; checks: CheckRow[]; trials: TrialRow[] } {
  const r = resultsSchema.parse(results);
  // A run is its start, subject and lab: the same run found in another folder is the same run.
  const id = sha256(`${r.startedAt}\n${r.subject.name}\n${r.lab.name}`).slice(0, 12);
  const trials: TrialRow[] = r.checks.flatMap((c) =>
    c.trials.map((t) => ({
      runId: id,
      check: c.id,
      fault: t.fault,
      trial: t.trial,
      budgetMs: t.budgetMs,
      passed: t.passed,
      ...(t.arp ? { arpOutageMs: t.arp.outageMs ?? null } : {}),
      ...(t.ndp ? { ndpOutageMs: t.ndp.outageMs ?? null } : {}),
      ...(t.http ? { httpOutageMs: t.http.outageMs ?? null } : {}),
    })),
  );
  return {
    run: {
      id,
      name: basename(dir),
      dir: resolve(dir),
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      subject: r.subject.name,
      version: r.subject.version,
      lab: r.lab.name,
      provider: r.lab.provider,
      lease: r.subject.lease
        ? `${r.subject.lease.durationMs}/${r.subject.lease.renewDeadlineMs}/${r.subject.lease.retryPeriodMs}`
        : null,
      l2labCommit: r.environment.l2labCommit,
      kernel: r.environment.kernel,
      probeIntervalMs: r.probeIntervalMs,
      passed: r.summary.passed,
      failed: r.summary.failed,
      skipped: r.summary.skipped,
      errors: r.summary.errors ?? 0,
      trials: trials.length,
    },
    checks: r.checks.map((c) => ({ runId: id, check: c.id, status: c.status, reason: c.reason ?? null })),
    trials,
  };
}

interface DbRun {
  id: string;
  name: string;
  dir: string;
  started_at: string;
  finished_at: string;
  subject: string;
  version: string;
  lab: string;
  provider: string;
  lease: string | null;
  l2lab_commit: string;
  kernel: string;
  probe_interval_ms: number;
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
  trials: number;
}

function toRow(r: DbRun): RunRow {
  return {
    id: r.id,
    name: r.name,
    dir: r.dir,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    subject: r.subject,
    version: r.version,
    lab: r.lab,
    provider: r.provider,
    lease: r.lease,
    l2labCommit: r.l2lab_commit,
    kernel: r.kernel,
    probeIntervalMs: r.probe_interval_ms,
    passed: r.passed,
    failed: r.failed,
    skipped: r.skipped,
    errors: r.errors,
    trials: r.trials,
  };
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The suite names its folders <UTC stamp>-<subject>-<version>: such a folder without results is a run cut short. */
function looksLikeRun(name: string): boolean {
  return /^\d{8}T\d{6}Z-/.test(name);
}

/** Comparisons (subjects side by side, Cilium versions) live beside the runs: they are not runs. */
function isComparison(dir: string): boolean {
  return existsSync(join(dir, 'comparison.json')) || existsSync(join(dir, 'compare.json'));
}

function isoFloor(v: string, flag: string): string {
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new HistoryError(`--${flag} must be a date or time such as 2026-12-01 or 2026-12-01T10:00Z, not "${v}"`);
  return new Date(t).toISOString();
}

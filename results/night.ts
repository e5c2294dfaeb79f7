// A campaign's cells and what became of them: night.json, the nightly runner's record. A cell is
// one conformance run of a campaign (a subject, at a version, with a lease).

export interface Cell {
  /** A name for folders and pages: subject, version and lease. */
  id: string;
  subject: string;
  version?: string;
  lease?: string;
}

export type CellStatus = 'done' | 'failed' | 'interrupted' | 'not run';

export interface CellOutcome extends Cell {
  status: CellStatus;
  /** The conformance run's exit code (1: checks failed — a measurement, not a failed cell). */
  exitCode?: number;
  why?: string;
  run?: { name: string; dir: string; passed: number; failed: number; errors: number };
  /** report.html of the run, relative to the night's folder. */
  html?: string;
  /** Against the previous night's matching run. */
  compared?: { with: string; regressions: number; improvements: number; html: string; markdown: string };
  seconds: number;
}

export interface Night {
  schema: 'l2lab.nightly/v1';
  startedAt: string;
  finishedAt?: string;
  matrix: string;
  cells: CellOutcome[];
  /** Set when Ctrl-C or a stop ended the night early. */
  interrupted?: boolean;
}

// Runs a campaign's cells one after the other, on one lab: moves a subject to a cell's version
// first (along the subject's version axis, only when it is not there yet), runs the cell, and keeps
// going when one cell cannot run — what is done stays done. A stop (Ctrl-C, SIGTERM) ends the cell
// running now (its faults are undone by it) and marks the rest not run.
import type { Subject } from '../conformance/subject.ts';
import { versionAxis } from '../conformance/versions/index.ts';
import type { Lab } from '../lab/types.ts';
import type { Cell, CellStatus } from '../results/night.ts';

export interface Outcome<R> {
  cell: Cell;
  status: CellStatus;
  /** What the cell's run returned (status done). */
  result?: R;
  /** Why it did not run or did not finish. */
  why?: string;
  /** The error itself, for callers that tell kinds apart. */
  error?: unknown;
  seconds: number;
}

export interface CampaignOptions<R> {
  lab: Lab;
  cells: Cell[];
  subjects: Map<string, Subject>;
  /** Runs one cell's conformance suite; throws when the cell could not run. */
  run(cell: Cell, index: number): Promise<R>;
  /** Moves a subject to a version; by default along its version axis (conformance/versions/). */
  move?(subject: Subject, version: string): Promise<void>;
  /** The reason once a stop was asked (e.g. "stopped by SIGINT"); the campaign then ends. */
  stopped(): string | undefined;
  /** Go on after a cell that failed (side by side: one broken subject loses no other); otherwise stop there. */
  keepGoing?: boolean;
  /** After every cell, with the outcomes so far: save them, so that a crash later loses nothing. */
  onCell?(outcome: Outcome<R>, all: Outcome<R>[]): void;
  progress(message: string): void;
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

export async function runCampaign<R>(o: CampaignOptions<R>): Promise<Outcome<R>[]> {
  const move = o.move ?? ((s: Subject, v: string) => versionAxis(s.versions!).moveTo(o.lab, v, o.progress));
  const at = new Map<string, string>(); // subject → the version it was last moved to
  const out: Outcome<R>[] = [];
  for (const [i, cell] of o.cells.entries()) {
    const stop = o.stopped();
    if (stop) {
      out.push({ cell, status: 'not run', why: stop, seconds: 0 });
      o.onCell?.(out.at(-1)!, out);
      continue;
    }
    const t0 = Date.now();
    const seconds = () => (Date.now() - t0) / 1000;
    let outcome: Outcome<R>;
    const subject = o.subjects.get(cell.subject);
    try {
      if (!subject) throw new Error(`subject ${cell.subject} is not in the campaign's plan`);
      if (cell.version && at.get(cell.subject) !== cell.version) {
        at.delete(cell.subject); // a move that fails half-way leaves it at no known version
        await move(subject, cell.version);
        at.set(cell.subject, cell.version);
      }
      outcome = { cell, status: 'done', result: await o.run(cell, i), seconds: seconds() };
    } catch (e) {
      // A stop while the cell ran is why it failed: interrupted, not broken.
      const status = o.stopped() ? 'interrupted' : 'failed';
      outcome = { cell, status, why: firstLine(e), error: e, seconds: seconds() };
      if (status === 'failed' && o.keepGoing !== false)
        o.progress(`cell ${cell.id}: ${firstLine(e)}; going on with the next`);
    }
    out.push(outcome);
    o.onCell?.(outcome, out);
    if (outcome.status === 'failed' && o.keepGoing === false) break;
  }
  return out;
}

// Runs checks in order against a context: a missing feature skips (never passes), a check that
// throws is a harness error (reported apart from the subject's failures), and an interrupted run
// stops at once.
import { MissingPrimitive } from '../lab/faults/index.ts';
import type { Check, SuiteOptions } from './check.ts';
import type { Context } from './context.ts';
import { SubjectFailure } from './errors.ts';
import { InterruptedError } from './fault-session.ts';
import type { CheckResult } from './model.ts';
import type { Subject } from './subject.ts';

/** Why a check cannot run for this subject (a missing feature; objects to install where l2lab installs none), if so. */
export function skipReason(c: Check, subject: Subject, preinstalled: boolean): string | undefined {
  const missing = c.features.filter((f) => !subject.has(f));
  if (missing.length) return `not supported: subject ${subject.name} does not claim ${missing.join(', ')}`;
  // Objects a check sets up are installed with the subject: not by l2lab, not there.
  if (c.setup && preinstalled)
    return `not possible here: it installs objects beside the subject (${c.setup.variable}), and l2lab installed nothing`;
  return undefined;
}

export async function runChecks(ctx: Context, checks: Check[], opts: SuiteOptions): Promise<CheckResult[]> {
  const results = opts.results;
  // The failover check's first trials watch as long as the checks that read them need.
  for (const c of checks)
    if (c.readsTrial) {
      const { fault, watchAfterMs } = c.readsTrial;
      opts.trialWatchMs = { ...opts.trialWatchMs, [fault]: Math.max(opts.trialWatchMs?.[fault] ?? 0, watchAfterMs) };
    }
  for (const c of checks) {
    if (ctx.faults.isInterrupted) break;
    const t0 = Date.now();
    const base = {
      id: c.id,
      title: c.title,
      description: c.description,
      details: [] as string[],
      figures: {},
      trials: [],
    };
    const why = skipReason(c, ctx.subject, ctx.preinstalled);
    if (why) {
      results.push({ ...base, status: 'skipped', reason: why, durationMs: 0 });
      ctx.progress(`${c.id}: skipped (${why})`);
      continue;
    }
    ctx.progress(`${c.id}: ${c.title}`);
    try {
      const o = await c.run(ctx, opts);
      await ctx.faults.undone(); // a fault the check undid in the background is undone before the next check
      await ctx.settleHeal(); // a trial the check ran is back at one responder before the next check
      results.push({
        ...base,
        status: o.status,
        reason: o.reason,
        details: o.details ?? [],
        figures: o.figures ?? {},
        trials: o.trials ?? [],
        durationMs: Date.now() - t0,
      });
    } catch (e) {
      await ctx.faults.undoAll();
      if (e instanceof InterruptedError || ctx.faults.isInterrupted) break;
      if (e instanceof MissingPrimitive) {
        // The lab cannot do what the check needs: skipped, never passed, and no harness error.
        results.push({
          ...base,
          status: 'skipped',
          reason: `not possible here: ${e.message}`,
          durationMs: Date.now() - t0,
        });
        ctx.progress(`${c.id}: skipped — ${e.message}`);
        continue;
      }
      const subject = e instanceof SubjectFailure;
      results.push({
        ...base,
        status: subject ? 'failed' : 'error',
        reason: `${subject ? '' : 'harness error: '}${(e as Error).message}`,
        durationMs: Date.now() - t0,
      });
    }
    const last = results.at(-1)!;
    ctx.progress(`${c.id}: ${last.status}${last.reason ? ` — ${last.reason}` : ''}`);
  }
  return results;
}

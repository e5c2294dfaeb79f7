// A check is data (id, title, description, the features it needs) plus one function, as the
// Gateway API conformance tests are. A check whose features the subject lacks is skipped.
import type { Progress, Provider } from '../lab/provider.ts';
import type { Lab } from '../lab/types.ts';
import type { Vip } from './addresses/index.ts';
import type { Context } from './context.ts';
import type { CheckResult, CheckStatus, FaultName, Feature, Trial } from './model.ts';

export interface Outcome {
  status: CheckStatus;
  reason?: string;
  details?: string[];
  figures?: Record<string, number | string | null>;
  trials?: Trial[];
}

export interface SuiteOptions {
  trials: number;
  faults: FaultName[];
  /** How long switch-outage keeps the switch dark (ms); by default from the subject's lease. */
  switchDownMs?: number;
  /** How long store-outage keeps the lease store down (ms); by default 4 × leaseDuration, at least 5 s. */
  storeDownMs?: number;
  /** scale-curve: its points (VIPs) and client rate limits by name, where not the defaults. */
  curve?: { vips?: number[]; limits?: string[] };
  /**
   * How long the first trial of each fault watches the new holder after its takeover (ms); it must
   * keep the VIP all that time. By default the subject's lease duration (a lease lost and won again
   * shows), or its power-off budget where it has no lease.
   */
  stabilityMs?: number;
  /** Results of the checks that ran before (later checks read the failover trials). */
  results: CheckResult[];
  /**
   * Per fault, how long the failover check's first trial keeps watching after the takeover, so
   * that a later check can read that trial instead of running one of its own (Check.readsTrial).
   */
  trialWatchMs?: Record<string, number>;
}

/**
 * What a check needs installed beside the subject (containerlab's pre-deploy hook): a variable the
 * subject's install playbook reads — subject files pass it on, e.g. `announcer_shared: "{{ shared }}"`
 * — set when the check is selected, the subject claims the check's features and the lab has room;
 * `off` otherwise. The suite names no check: it asks each one's setup.
 */
export interface CheckSetup {
  variable: string;
  off: unknown;
  /** Whether the lab has room for it (a large enough pool, a node for a backend); default yes. */
  fits?(lab: Lab): boolean;
  /** The variable's value; `main` is the main VIP, undefined before the subject has chosen it. */
  value(lab: Lab, main?: Vip): unknown;
  /** The value names the main VIP: where the subject chooses it, the suite installs, reads it, installs again. */
  needsMain?: boolean;
  /** After the install: what the check places on the lab (a backend on a node). */
  afterInstall?(x: { lab: Lab; provider: Provider; progress: Progress['info'] }): Promise<void>;
}

export interface Check {
  id: string;
  title: string;
  description: string;
  features: Feature[];
  setup?: CheckSetup;
  /**
   * The first failover trial of this fault, watched this long after the takeover, is what the
   * check reads: the failover check watches that long when this check runs, and the check runs a
   * trial of its own only where failover ran none.
   */
  readsTrial?: { fault: FaultName; watchAfterMs: number };
  /** Runs only when --only names it (minutes of work): a run of every check leaves it out. */
  optIn?: boolean;
  /**
   * The faults its run may inject itself (the failover check: the run's --faults), on the node its
   * description names: `l2lab test --dry-run` lists their commands. test/unit/checks.test.ts holds
   * it to the check's code.
   */
  injects?: FaultName[];
  run(ctx: Context, opts: SuiteOptions): Promise<Outcome>;
}

/**
 * A power-off takeover for a check's look after a failover: the failover check's power-off trial
 * where `reuse` holds the run's results and it ran one, else one of the check's own; then the lab
 * back at one stable holder (where the subject fails back, once it has).
 */
export async function afterPowerOff(ctx: Context, reuse?: SuiteOptions): Promise<Trial> {
  const trial = (reuse && allTrials(reuse).find((t) => t.fault === 'power-off')) ?? (await ctx.trial('power-off', 1));
  await ctx.settleHeal();
  if (ctx.subject.failback) await ctx.settled(ctx.subject.budgetMs('power-off'));
  return trial;
}

/** The failover check's first trial of `fault` if it was watched at least `watchAfterMs` after the takeover. */
export function watchedTrial(opts: SuiteOptions, fault: FaultName, watchAfterMs: number): Trial | undefined {
  return allTrials(opts).find((t) => t.fault === fault && t.trial === 1 && (t.watchAfterMs ?? 0) >= watchAfterMs);
}

export const defineCheck = (c: Check): Check => c;

/** Every failover trial of the run so far. */
export function allTrials(opts: SuiteOptions): Trial[] {
  return opts.results.flatMap((r) => r.trials);
}

/** Whether a run with these --only / --skip runs the check (an opt-in one only when --only names it). */
export const isSelected = (c: Pick<Check, 'id' | 'optIn'>, only?: string[], skip?: string[]): boolean =>
  (c.optIn ? !!only?.includes(c.id) : !only?.length || only.includes(c.id)) && !skip?.includes(c.id);

import { faultPlugin, hasPrimitive, type Primitive } from '../../lab/faults/index.ts';
import { spread } from '../../results/stats.ts';
import { defineCheck } from '../check.ts';
import { SubjectFailure } from '../errors.ts';
import type { Feature, Trial } from '../model.ts';
import { RELAPSE_PROBES } from '../trial.ts';

/**
 * The faults a subject can be put through here: a trial whose features the subject does not claim
 * (graceful stop needs graceful-release), or whose provider primitive the lab lacks (power on
 * machines l2lab did not build), is left out, with the reason.
 */
export function faultsFor(
  faults: string[],
  has: (f: Feature) => boolean,
  can: (p: Primitive) => boolean,
): { run: string[]; left: string[] } {
  const run: string[] = [],
    left: string[] = [];
  for (const f of faults) {
    const p = faultPlugin(f);
    const features = (p.trial?.needs ?? []).filter((n) => !has(n as Feature));
    const primitives = p.primitives.filter((x) => !can(x));
    if (!features.length && !primitives.length) run.push(f);
    else
      left.push(
        `${f}: skipped (${[
          ...(features.length ? [`the subject does not claim ${features.join(', ')}`] : []),
          ...(primitives.length ? [`the provider has no ${primitives.join(', ')} primitive`] : []),
        ].join('; ')})`,
      );
  }
  return { run, left };
}

/**
 * How far the suite's outage (the old node's last answer → the new one's first) is from VRRP's
 * own (the old master's last advertisement → the new master's first). They agree within the sum
 * of both resolutions: the advertisement interval (the old master's last one may precede the
 * fault by that much) and the probe interval.
 */
export function vrrpGapMs(outageMs?: number, switchoverMs?: number): number | undefined {
  return outageMs === undefined || switchoverMs === undefined ? undefined : Math.abs(outageMs - switchoverMs);
}

/** A new holder that fell silent again after its takeover (lease flapping): a second outage the client saw. */
export function relapseDetail(t: Trial, probeIntervalMs: number): string {
  return (['arp', 'ndp'] as const)
    .filter((f) => (t[f]?.relapseMs ?? 0) > RELAPSE_PROBES * probeIntervalMs)
    .map(
      (f) =>
        `; then nobody answered ${f.toUpperCase()} for ${t[f]!.relapseMs!.toFixed(0)} ms from ${t[f]!.relapseAtMs!.toFixed(0)} ms after ` +
        `the fault`,
    )
    .join('');
}

export { RELAPSE_PROBES };

function vrrpDetail(t: Trial): string {
  const v = t.arp?.vrrp ?? t.ndp?.vrrp;
  if (!v) return '';
  const f = (x?: number) => x?.toFixed(0) ?? '-';
  return (
    `; VRRP on the wire: last advertisement of ${v.oldNode ?? '?'} → first of ${v.newNode ?? 'nobody'} ${f(v.switchoverMs)} ms, ` +
    `${f(v.advertMs)} ms after the fault`
  );
}

export default defineCheck({
  id: 'failover',
  title: 'Failover under faults',
  description:
    'For each fault (power off, announcing link down, all networking off, announcer process killed, announcer paused, graceful stop), ' +
    "another eligible node answers within the subject's budget (on an emulated lab that time is reported, not judged; who answers, " +
    'split-brain and a hand-on still are); outages for ARP, NDP and HTTP are measured from the client. Each fault ' +
    'is undone and the lab is back to one stable responder before the next trial (the next window may start while the node boots; ' +
    'its fault waits until the subject is ready there).',
  features: [],
  async run(ctx, opts) {
    const trials: Trial[] = [];
    const stabilityMs = opts.stabilityMs ?? ctx.subject.lease?.durationMs ?? ctx.subject.budgetMs('power-off');
    const { run, left } = faultsFor(
      opts.faults,
      (f) => ctx.subject.has(f),
      (p) => hasPrimitive(ctx.provider, ctx.lab, p),
    );
    if (!run.length) return { status: 'skipped', reason: `no fault can be run: ${left.join('; ')}`, details: left };
    // A subject that cannot be judged any more (never ready again after a heal) ends the trials;
    // the ones measured before stay in the results, with the reason beside them.
    let stopped: string | undefined;
    faults: for (const fault of run)
      for (let i = 1; i <= opts.trials; i++)
        try {
          // The first trial of each fault watches the new holder for a stability period: a takeover must last.
          // It also watches as long as a later check that reads it needs (announcement-pattern).
          trials.push(
            await ctx.trial(fault, i, i === 1 ? { stabilityMs, watchAfterMs: opts.trialWatchMs?.[fault] ?? 0 } : {}),
          );
        } catch (e) {
          if (!(e instanceof SubjectFailure) || !trials.length) throw e;
          stopped = `${fault} #${i}: ${e.message} (the trials after it not run)`;
          break faults;
        }
    if (!stopped) await ctx.settleHeal(); // the last trial's heal is judged too
    const figures: Record<string, number | null> = {};
    for (const fault of new Set(trials.map((t) => t.fault))) {
      const ts = trials.filter((t) => t.fault === fault);
      for (const [name, pick] of [
        ['arp', (t: Trial) => t.arp?.outageMs],
        ['ndp', (t: Trial) => t.ndp?.outageMs],
        ['http', (t: Trial) => t.http?.outageMs],
      ] as const) {
        const s = spread(ts.map(pick));
        figures[`${fault}.${name}.median_ms`] = s?.median ?? null;
        figures[`${fault}.${name}.p95_ms`] = s?.p95 ?? null;
        figures[`${fault}.${name}.max_ms`] = s?.max ?? null;
      }
      // VRRP subjects: the protocol's own clock on the wire beside the suite's, per family.
      for (const fam of ['arp', 'ndp'] as const) {
        const withVrrp = ts.filter((t) => t[fam]?.vrrp);
        if (!withVrrp.length) continue;
        const sw = spread(withVrrp.map((t) => t[fam]!.vrrp!.switchoverMs));
        figures[`${fault}.${fam}.vrrp_switchover_median_ms`] = sw?.median ?? null;
        figures[`${fault}.${fam}.vrrp_switchover_max_ms`] = sw?.max ?? null;
        const gaps = withVrrp
          .map((t) => vrrpGapMs(t[fam]!.outageMs, t[fam]!.vrrp!.switchoverMs))
          .filter((g): g is number => g !== undefined);
        figures[`${fault}.${fam}.vrrp_vs_suite_max_ms`] = gaps.length ? Math.round(Math.max(...gaps)) : null;
      }
    }
    const failed = trials.filter((t) => !t.passed);
    const reasons = [
      ...failed.map((t) => `${t.fault} #${t.trial}: ${t.problems.join('; ')}`),
      ...(stopped ? [stopped] : []),
    ];
    return {
      status: reasons.length ? 'failed' : 'passed',
      reason: reasons.length ? reasons.join(' | ') : undefined,
      details: [
        ...left,
        ...trials.map(
          (t) =>
            `${t.fault} #${t.trial}: ${t.arp?.oldNode ?? t.ndp?.oldNode} → ${t.arp?.newNode ?? t.ndp?.newNode ?? 'nobody'}; takeover ARP ` +
            `${t.arp?.takeoverMs?.toFixed(0) ?? '-'} ms, NDP ${t.ndp?.takeoverMs?.toFixed(0) ?? '-'} ms; HTTP outage ` +
            `${t.http?.outageMs?.toFixed(0) ?? '-'} ms (budget ${t.budgetMs} ms)${relapseDetail(t, ctx.probeIntervalMs)}${vrrpDetail(t)}${
              t.notes?.length ? `; ${t.notes.join('; ')}` : ''
            }`,
        ),
      ],
      figures,
      trials,
    };
  },
});

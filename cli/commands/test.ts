// l2lab test [options] (npm run conformance): the subject installed, the checks, the report, the recap;
// with --subjects or --versions, a campaign of runs and their comparison.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planCampaign } from '../../campaign/plan.ts';
import { runCampaign } from '../../campaign/run.ts';
import { buildBundles } from '../../conformance/bundles.ts';
import { SETTINGS } from '../../conformance/checks/scale-curve.ts';
import { dryRunPlan } from '../../conformance/dry-run.ts';
import { InterruptedError } from '../../conformance/fault-session.ts';
import type { RunResults } from '../../conformance/model.ts';
import { checkSelection, runSuite } from '../../conformance/suite.ts';
import { confirmFaults } from '../../lab/consent.ts';
import { trialFaultKinds } from '../../lab/faults/index.ts';
import { findLab } from '../../lab/find-lab.ts';
import { leaseProblems } from '../../lab/lease.ts';
import { dataPaths } from '../../lab/paths.ts';
import { table } from '../../lab/table.ts';
import type { Lease } from '../../lab/types.ts';
import { UsageError } from '../../lab/validation.ts';
import { compareInTurn, comparisonText, writeComparisonFiles } from '../../reports/compare-runs.ts';
import { compareSubjects, comparisonTable, subjectsTable, writeComparison } from '../../reports/compare-subjects.ts';
import { runHtml, subjectsHtml } from '../../reports/html.ts';
import { outageTable, utcStamp, writeRun } from '../../reports/write.ts';
import { knownLine } from '../../results/known.ts';
import type { Cell } from '../../results/night.ts';
import { EXIT, type ExitCode } from '../exit.ts';

import { DEFAULT_TRIALS } from '../help.ts';

export interface TestOptions {
  lab?: string;
  subject?: string;
  trials?: string;
  only?: string;
  skip?: string;
  faults?: string;
  probeInterval?: string;
  out?: string;
  leaseDuration?: string;
  leaseRenewDeadline?: string;
  leaseRetryPeriod?: string;
  versions?: string;
  ciliumVersions?: string;
  subjects?: string;
  switchDownS?: string;
  storeDownS?: string;
  curveVips?: string;
  curveLimits?: string;
  stabilityS?: string;
  installed?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

function int(flag: string, v: string | undefined, min: number, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(
      `--${flag} must be a whole number from ${min}${max < Infinity ? ` to ${max}` : ''}, not "${v}"`,
    );
  return n;
}

/** One run's recap: its checks, the outage table, the counts and where the report is. */
function printRun(results: RunResults, dir: string, t0: number, page: boolean, say: (line: string) => void): void {
  say(
    `\nl2lab conformance: ${results.subject.name} ${results.subject.version} on lab ${results.lab.name} ` +
      `(${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
  );
  say(
    table([
      ['CHECK', 'STATUS', 'NOTE'],
      ...results.checks.map((c) => [c.id, c.status, (c.reason ?? c.details[0] ?? '').slice(0, 110)]),
    ]),
  );
  for (const c of results.checks.filter((x) => x.known?.length))
    say(`${c.id}: ${knownLine(c.known)} — ${c.known!.map((k) => k.what.split(/[:;]/)[0]).join('; ')}`);
  const outages = outageTable(results);
  if (outages.length > 1) say(`\n${table(outages)}`);
  say(
    `\n${results.summary.passed} passed, ${results.summary.failed} failed, ${results.summary.skipped} skipped, ` +
      `${results.summary.info} informational${results.summary.errors ? `, ${results.summary.errors} harness errors` : ''}`,
  );
  say(
    page
      ? `report: ${dir}/report.html (and junit.xml, results.json, summary.md, captures *.pcap)`
      : `report: ${dir}/ (junit.xml, results.json, summary.md, captures *.pcap)`,
  );
}

/** The suite once, or a campaign (--subjects, --versions): runs, reports, comparisons. */
export async function testCommand(values: TestOptions): Promise<ExitCode> {
  const list = (s?: string) =>
    s
      ?.split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const faults = list(values.faults) ?? trialFaultKinds();
  for (const f of faults)
    if (!trialFaultKinds().includes(f))
      throw new UsageError(`--faults: unknown fault "${f}"; faults: ${trialFaultKinds().join(', ')}`);
  const lease = {
    durationMs: int('lease-duration', values.leaseDuration, 1),
    renewDeadlineMs: int('lease-renew-deadline', values.leaseRenewDeadline, 1),
    retryPeriodMs: int('lease-retry-period', values.leaseRetryPeriod, 1),
  };
  const seconds = (flag: string, v: string | undefined) =>
    v === undefined ? undefined : int(flag, v, 1, 3600)! * 1000;
  // Every number read before the first run: a bad one is bad input (exit 2), not a failed cell.
  const numbers = {
    trials: int('trials', values.trials ?? String(DEFAULT_TRIALS), 1, 100)!,
    probeIntervalMs: int('probe-interval', values.probeInterval, 5, 1000),
    switchDownMs: seconds('switch-down-s', values.switchDownS),
    storeDownMs: seconds('store-down-s', values.storeDownS),
    stabilityMs: seconds('stability-s', values.stabilityS),
    curve: curveOptions(list(values.curveVips), list(values.curveLimits)),
  };
  checkSelection({ only: list(values.only), skip: list(values.skip) }); // before any cell of a campaign runs
  const lab = findLab({ lab: values.lab });
  // machines l2lab did not build: before anything runs (a dry run runs nothing)
  if (!values.dryRun) await confirmFaults(lab, values.yes, 'l2lab test');
  const leaseOverride = Object.fromEntries(Object.entries(lease).filter(([, x]) => x !== undefined)) as Partial<Lease>;
  const t0 = Date.now();
  const progress = (m: string) => {
    if (!values.quiet) process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${m}\n`);
  };
  // With --json, stdout is the JSON alone (at the end): the recap goes to stderr.
  const say = (line: string) => (values.json ? console.error(line) : console.log(line));
  const comparisons: string[] = [];
  if (values.versions && values.ciliumVersions)
    throw new UsageError('--cilium-versions is --subject cilium --versions: give one of them');
  const versionsFlag = values.ciliumVersions ? '--cilium-versions' : '--versions';
  const versions = list(values.versions ?? values.ciliumVersions);
  if (values.ciliumVersions && (values.subject ?? 'cilium') !== 'cilium')
    throw new UsageError(
      `--cilium-versions compares Cilium versions: use it with --subject cilium (not ${values.subject})`,
    );
  const subjects = list(values.subjects);
  if (subjects && (versions || values.subject))
    throw new UsageError(
      '--subjects runs each subject in turn: leave out --subject and --versions (--cilium-versions)',
    );
  if (subjects && subjects.length < 2)
    throw new UsageError('--subjects needs two or more subjects, e.g. reference,keepalived');
  if (subjects && values.out)
    throw new UsageError(
      '--subjects writes one report folder per subject and a comparison in the data directory; leave out --out',
    );
  if (versions && versions.length > 1 && values.out)
    throw new UsageError(
      `${versionsFlag} with several versions writes one report folder per version in the data directory; leave out --out`,
    );
  // Every subject and version checked before the first run starts (campaign/plan.ts).
  const subject = values.subject ?? (values.ciliumVersions ? 'cilium' : 'reference');
  const plan = planCampaign(
    { subjects: subjects ?? [subject], ...(versions ? { versions: { [subject]: versions } } : {}) },
    lab,
  );
  // A lease flag on a subject without a lease would change nothing: say so rather than ignore it.
  const leaseless = [...plan.subjects.values()].filter((s) => !s.lease).map((s) => s.name);
  if (Object.keys(leaseOverride).length && leaseless.length)
    plan.problems.push(
      `subjects: ${leaseless.join(', ')} ${leaseless.length === 1 ? 'has' : 'have'} no lease (not lease-based): ` +
        `leave out the --lease-* flags${subjects ? ' or run the lease-based subjects on their own' : ''}`,
    );
  // The flags follow the lab file's rules, applied to the lease they make with it.
  const leaseFlag = {
    duration: 'lease-duration',
    renewDeadline: 'lease-renew-deadline',
    retryPeriod: 'lease-retry-period',
  };
  const leaseErrors =
    Object.keys(leaseOverride).length && !leaseless.length ? leaseProblems({ ...lab.lease, ...leaseOverride }) : [];
  if (leaseErrors.length)
    throw new UsageError(
      leaseErrors
        .map((p) => `--${leaseFlag[p.field]}: ${p.message} (with the lab's lease where no flag says)`)
        .join('\n'),
    );

  if (plan.problems.length)
    throw new UsageError(
      plan.problems
        .map((p) => p.replace(/^(subjects|versions\.[^:]+): /, (_, f) => (f === 'subjects' ? '' : `${versionsFlag}: `)))
        .join('\n'),
    );
  if (values.dryRun) {
    for (const s of subjects ?? [subject]) {
      const lines = await dryRunPlan({
        lab,
        subject: s,
        installed: values.installed === true,
        faults,
        only: list(values.only),
        skip: list(values.skip),
        lease: leaseOverride,
      });
      console.log(lines.join('\n'));
    }
    return EXIT.ok;
  }
  // The CLI owns the signals: Ctrl-C aborts the run, which undoes the fault in force and ends
  // with exit 130; a second Ctrl-C must not leave a fault behind.
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) {
      progress('still undoing faults; the lab is being put back');
      return;
    }
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await buildBundles();
  const runs: { version: string; failed: number; dir: string; passed: number; results: RunResults }[] = [];
  const notRun: { subject: string; error: string }[] = [];
  const writeSubjects = (note?: string) => {
    const comparison = compareSubjects(runs, notRun, note);
    const dir = join(dataPaths().comparisons, `${utcStamp()}-subjects`);
    mkdirSync(dir, { recursive: true });
    writeComparison(dir, comparison);
    // The subjects overlaid (a page that cannot be drawn loses no data).
    try {
      writeFileSync(join(dir, 'comparison.html'), subjectsHtml(comparison, runs, dir));
    } catch (e) {
      progress(`the HTML pages could not be written: ${(e as Error).message}`);
    }
    say(`\nSubjects compared on lab ${lab.name}:\n${table(subjectsTable(comparison))}`);
    say(`\n${table(comparisonTable(comparison))}`);
    for (const n of notRun) say(`not run: ${n.subject}: ${n.error.split('\n')[0]}`);
    say(`\ncomparison: ${dir}/ (comparison.md, comparison.json, comparison.html)`);
    comparisons.push(dir);
  };
  const runCell = async (cell: Cell): Promise<RunResults> => {
    if (subjects) progress(`subject ${cell.subject} (${runs.length + notRun.length + 1} of ${subjects.length})`);
    const { results, dir } = await runSuite({
      lab,
      subject: cell.subject,
      ...numbers,
      faults,
      only: list(values.only),
      skip: list(values.skip),
      outDir: values.out,
      lease: leaseOverride,
      progress,
      signal: abort.signal,
      installed: values.installed,
    });
    writeRun(dir, results, { progress }); // the folder is the result; the history indexes it
    // Every run has its page (a page that cannot be drawn loses no data: the files are written).
    let page = true;
    try {
      writeFileSync(join(dir, 'report.html'), runHtml(dir, results));
    } catch (e) {
      page = false;
      progress(`the HTML page could not be written: ${(e as Error).message}`);
    }
    printRun(results, dir, t0, page, say);
    runs.push({
      version: results.subject.version,
      failed: results.summary.failed + results.summary.errors,
      passed: results.summary.passed,
      dir,
      results,
    });
    return results;
  };
  const outcomes = await runCampaign({
    lab,
    cells: plan.cells,
    subjects: plan.subjects,
    run: runCell,
    stopped: () => (abort.signal.aborted ? 'interrupted' : undefined),
    progress,
    // Side by side, one subject that cannot run loses neither the runs before it nor the ones after.
    keepGoing: subjects !== undefined,
    onCell: (o) => {
      if (o.status === 'failed')
        notRun.push({ subject: plan.subjects.get(o.cell.subject)?.name ?? o.cell.subject, error: String(o.why) });
    },
  });
  const interrupted = outcomes.find((o) => o.status === 'interrupted' || o.status === 'not run');
  const failed = outcomes.find((o) => o.status === 'failed');
  if (interrupted) {
    if (subjects && (runs.length || notRun.length))
      writeSubjects(`interrupted: ${interrupted.cell.subject} and the subjects after it did not run`);
    throw interrupted.error ?? new InterruptedError();
  }
  if (failed && !subjects) {
    if (runs.length) progress(`the reports so far: ${runs.map((r) => r.dir).join(', ')}`);
    throw failed.error;
  }
  const json = () => {
    if (values.json)
      console.log(
        JSON.stringify({ runs: runs.map((r) => ({ dir: r.dir, results: r.results })), notRun, comparisons }, null, 2),
      );
  };
  if (subjects) {
    writeSubjects();
    json();
    // A comparison is a measurement: it succeeds when every run did, whatever the subjects scored.
    return notRun.length || runs.some((r) => r.results.summary.errors) ? EXIT.harness : EXIT.ok;
  }
  let regressions = 0;
  if (runs.length > 1) {
    say(
      `\n${plan.cells[0]!.subject} versions compared:\n${table([
        ['VERSION', 'PASSED', 'FAILED', 'REPORT'],
        ...runs.map((r) => [r.version, String(r.passed), String(r.failed), r.dir]),
      ])}`,
    );
    // Each version against the one before it, as `l2lab report compare` shows it (the runs
    // are in the history too).
    const stamp = utcStamp();
    compareInTurn(runs, (r) => `${r.subject} ${r.version}`).forEach((c, i) => {
      const name = runs[i]!.results.subject.name.replace(/[:/]/g, '-');
      const dir = join(dataPaths().comparisons, `${stamp}-${name}-${runs[i]!.version}-vs-${runs[i + 1]!.version}`);
      writeComparisonFiles(dir, c);
      say(`\n${comparisonText(c)}\ncomparison: ${dir}/ (compare.md, compare.json)`);
      comparisons.push(dir);
      regressions += c.regressions;
    });
  }
  json();
  if (runs.some((r) => r.results.summary.failed) || regressions) return EXIT.failed;
  return runs.some((r) => r.results.summary.errors) ? EXIT.harness : EXIT.ok;
}

/** scale-curve's points and limits from the command line, each checked (bad input: exit 2). */
function curveOptions(vips?: string[], limits?: string[]): { vips?: number[]; limits?: string[] } | undefined {
  if (!vips && !limits) return undefined;
  const points = vips?.map((v) => int('curve-vips', v, 1, 10_000)!);
  if (points?.some((p, i) => i > 0 && p <= points[i - 1]!))
    throw new UsageError(`--curve-vips must rise: ${vips!.join(',')}`);
  const names = SETTINGS.map((s) => s.name);
  for (const l of limits ?? [])
    if (!names.includes(l)) throw new UsageError(`--curve-limits: unknown limit "${l}"; limits: ${names.join(', ')}`);
  return { ...(points ? { vips: points } : {}), ...(limits ? { limits } : {}) };
}

// npm run conformance -- [options]: lab up, subject installed, checks, report, summary.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { planCampaign } from '../campaign/plan.ts';
import { runCampaign } from '../campaign/run.ts';
import { trialFaultKinds } from '../lab/faults/index.ts';
import { findLab } from '../lab/find-lab.ts';
import { LabFileError } from '../lab/labfile.ts';
import { repoRoot } from '../lab/paths.ts';
import { table } from '../lab/table.ts';
import { UsageError } from '../lab/validation.ts';
import { compareInTurn, comparisonText, writeComparisonFiles } from '../reports/compare-runs.ts';
import { compareSubjects, comparisonTable, subjectsTable, writeComparison } from '../reports/compare-subjects.ts';
import { runHtml, subjectsHtml } from '../reports/html.ts';
import { outageTable, utcStamp, writeRun } from '../reports/write.ts';
import type { Cell } from '../results/night.ts';
import { buildBundles } from './bundles.ts';
import { InterruptedError } from './fault-session.ts';
import type { RunResults } from './model.ts';
import { SubjectError } from './subject.ts';
import { checkIds, runSuite } from './suite.ts';

const USAGE =
  `usage: npm run conformance -- [--lab FILE] [--subject NAME[:VARIANT]|FILE] [--trials N] [--only ID,…] [--skip ID,…]
                               [--faults ${trialFaultKinds().join(',')}] [--probe-interval MS] [--out DIR]
                               [--lease-duration MS --lease-renew-deadline MS --lease-retry-period MS] [--switch-down-s S] ` +
  `[--store-down-s S] [--stability-s S]
                               [--versions A,B,…]          move the subject to each version in turn (its version axis), one report each
                               [--cilium-versions A,B,…]   the same as --subject cilium --versions A,B,…
                               [--subjects A,B,…]          one run per subject on the same lab, then one comparison`;

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
function printRun(results: RunResults, dir: string, t0: number): void {
  console.log(
    `\nl2lab conformance: ${results.subject.name} ${results.subject.version} on lab ${results.lab.name} ` +
      `(${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
  );
  console.log(
    table([
      ['CHECK', 'STATUS', 'NOTE'],
      ...results.checks.map((c) => [c.id, c.status, (c.reason ?? c.details[0] ?? '').slice(0, 110)]),
    ]),
  );
  const outages = outageTable(results);
  if (outages.length > 1) console.log(`\n${table(outages)}`);
  console.log(
    `\n${results.summary.passed} passed, ${results.summary.failed} failed, ${results.summary.skipped} skipped, ` +
      `${results.summary.info} informational${results.summary.errors ? `, ${results.summary.errors} harness errors` : ''}`,
  );
  console.log(`report: ${dir}/ (junit.xml, results.json, summary.md, captures *.pcap)`);
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        lab: { type: 'string', short: 'l' },
        subject: { type: 'string', short: 's', default: 'reference' },
        trials: { type: 'string', default: '3' },
        only: { type: 'string' },
        skip: { type: 'string' },
        faults: { type: 'string' },
        'probe-interval': { type: 'string' }, // default: the provider's (20 ms, 50 ms on emulated VMs)
        out: { type: 'string' },
        'lease-duration': { type: 'string' },
        'lease-renew-deadline': { type: 'string' },
        'lease-retry-period': { type: 'string' },
        versions: { type: 'string' },
        'cilium-versions': { type: 'string' },
        subjects: { type: 'string' },
        'switch-down-s': { type: 'string' },
        'store-down-s': { type: 'string' },
        'stability-s': { type: 'string' }, // how long the first trial of each fault watches the new holder
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
  }
  if (values.help) {
    console.log(`${USAGE}\nchecks: ${checkIds().join(', ')}`);
    return 0;
  }
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
    durationMs: int('lease-duration', values['lease-duration'], 50),
    renewDeadlineMs: int('lease-renew-deadline', values['lease-renew-deadline'], 20),
    retryPeriodMs: int('lease-retry-period', values['lease-retry-period'], 10),
  };
  const seconds = (flag: 'switch-down-s' | 'store-down-s' | 'stability-s') =>
    values[flag] === undefined ? undefined : int(flag, values[flag], 1, 3600)! * 1000;
  // Every number read before the first run: a bad one is bad input (exit 2), not a failed cell.
  const numbers = {
    trials: int('trials', values.trials, 1, 100)!,
    probeIntervalMs: int('probe-interval', values['probe-interval'], 5, 1000),
    switchDownMs: seconds('switch-down-s'),
    storeDownMs: seconds('store-down-s'),
    stabilityMs: seconds('stability-s'),
  };
  const lab = findLab({ lab: values.lab });
  const t0 = Date.now();
  const progress = (m: string) => process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${m}\n`);
  if (values.versions && values['cilium-versions'])
    throw new UsageError('--cilium-versions is --subject cilium --versions: give one of them');
  const versionsFlag = values['cilium-versions'] ? '--cilium-versions' : '--versions';
  const versions = list(values.versions ?? values['cilium-versions']);
  if (values['cilium-versions'] && values.subject !== 'cilium')
    throw new UsageError(
      `--cilium-versions compares Cilium versions: use it with --subject cilium (not ${values.subject})`,
    );
  const subjects = list(values.subjects);
  if (subjects && (versions || argv.some((a) => a === '--subject' || a === '-s' || a.startsWith('--subject='))))
    throw new UsageError(
      '--subjects runs each subject in turn: leave out --subject and --versions (--cilium-versions)',
    );
  if (subjects && subjects.length < 2)
    throw new UsageError('--subjects needs two or more subjects, e.g. reference,keepalived');
  if (subjects && values.out)
    throw new UsageError(
      '--subjects writes one report folder per subject and a comparison under reports/; leave out --out',
    );
  if (versions && versions.length > 1 && values.out)
    throw new UsageError(
      `${versionsFlag} with several versions writes one report folder per version under reports/; leave out --out`,
    );
  // Every subject and version checked before the first run starts (campaign/plan.ts).
  const plan = planCampaign(
    { subjects: subjects ?? [values.subject!], ...(versions ? { versions: { [values.subject!]: versions } } : {}) },
    lab,
  );
  if (plan.problems.length)
    throw new UsageError(
      plan.problems
        .map((p) => p.replace(/^(subjects|versions\.[^:]+): /, (_, f) => (f === 'subjects' ? '' : `${versionsFlag}: `)))
        .join('\n'),
    );
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
    const dir = join(repoRoot, 'reports', `${utcStamp()}-subjects`);
    mkdirSync(dir, { recursive: true });
    writeComparison(dir, comparison);
    // The pages: one per run, and the subjects overlaid (a page that cannot be drawn loses no data).
    try {
      for (const r of runs) writeFileSync(join(r.dir, 'report.html'), runHtml(r.dir, r.results));
      writeFileSync(join(dir, 'comparison.html'), subjectsHtml(comparison, runs, dir));
    } catch (e) {
      progress(`the HTML pages could not be written: ${(e as Error).message}`);
    }
    console.log(`\nSubjects compared on lab ${lab.name}:\n${table(subjectsTable(comparison))}`);
    console.log(`\n${table(comparisonTable(comparison))}`);
    for (const n of notRun) console.log(`not run: ${n.subject}: ${n.error.split('\n')[0]}`);
    console.log(`\ncomparison: ${dir}/ (comparison.md, comparison.json, comparison.html)`);
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
      lease: Object.fromEntries(Object.entries(lease).filter(([, x]) => x !== undefined)),
      progress,
      signal: abort.signal,
    });
    writeRun(dir, results, { progress }); // the folder is the result; the history indexes it
    printRun(results, dir, t0);
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
  if (subjects) {
    writeSubjects();
    // A comparison is a measurement: it succeeds when every run did, whatever the subjects scored.
    return notRun.length || runs.some((r) => r.results.summary.errors) ? 1 : 0;
  }
  let regressions = 0;
  if (runs.length > 1) {
    console.log(
      `\n${plan.cells[0]!.subject} versions compared:\n${table([
        ['VERSION', 'PASSED', 'FAILED', 'REPORT'],
        ...runs.map((r) => [r.version, String(r.passed), String(r.failed), r.dir]),
      ])}`,
    );
    // Each version against the one before it, as `npm run report -- compare` shows it (the runs
    // are in the history too).
    const stamp = utcStamp();
    compareInTurn(runs, (r) => `${r.subject} ${r.version}`).forEach((c, i) => {
      const name = runs[i]!.results.subject.name.replace(/[:/]/g, '-');
      const dir = join(repoRoot, 'reports', `${stamp}-${name}-${runs[i]!.version}-vs-${runs[i + 1]!.version}`);
      writeComparisonFiles(dir, c);
      console.log(`\n${comparisonText(c)}\ncomparison: ${dir}/ (compare.md, compare.json)`);
      regressions += c.regressions;
    });
  }
  return runs.some((r) => r.failed) || regressions ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (c) => process.exit(c),
  (e: unknown) => {
    if (e instanceof InterruptedError) {
      console.error('interrupted: the faults were undone');
      process.exit(130);
    }
    const bad = e instanceof UsageError || e instanceof LabFileError || e instanceof SubjectError;
    console.error(`error: ${(e as Error).message}`);
    process.exit(bad ? 2 : 1);
  },
);

// A run's figures in the Prometheus text format (0.0.4), for the tools people already watch:
// node_exporter's textfile collector or a Pushgateway. The figures are the ones the report
// defines: takeover = the fault → the new holder's first answer; outage = the old holder's last
// answer → the new holder's first. `promtool check metrics` accepts it (a test runs it).

import type { RunResults, Trial } from '../results/schema.ts';
import { percentile } from '../results/stats.ts';

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelText = (l: Labels) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;
const seconds = (ms: number) => String(Math.round(ms) / 1000);

class Family {
  readonly lines: string[] = [];
  constructor(
    readonly name: string,
    type: 'gauge' | 'summary',
    help: string,
  ) {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(labels: Labels, value: string, suffix = ''): void {
    this.lines.push(`${this.name}${suffix}${labelText(labels)} ${value}`);
  }
}

/** The figure of one family (ARP, NDP, HTTP) of a trial, if it was measured. */
function figure(t: Trial, family: 'arp' | 'ndp' | 'http', which: 'outageMs' | 'takeoverMs'): number | undefined {
  if (family === 'http') return which === 'outageMs' ? t.http?.outageMs : undefined;
  return t[family]?.[which];
}

export function metricsText(r: RunResults): string {
  const run: Labels = { subject: r.subject.name, lab: r.lab.name };
  const info = new Family('l2lab_run_info', 'gauge', 'A conformance run: what was measured, where, by which l2lab.');
  info.sample(
    {
      ...run,
      version: r.subject.version,
      provider: r.lab.provider,
      l2lab_commit: r.environment.l2labCommit,
      kernel: r.environment.kernel,
    },
    '1',
  );
  const started = new Family('l2lab_run_start_timestamp_seconds', 'gauge', 'When the run started (Unix time).');
  started.sample(run, String(Math.floor(Date.parse(r.startedAt) / 1000)));
  const checks = new Family(
    'l2lab_check_status',
    'gauge',
    "1 for the check's status (passed, failed, skipped, info, error), 0 for the others.",
  );
  for (const c of r.checks)
    for (const s of ['passed', 'failed', 'skipped', 'info', 'error'])
      checks.sample({ ...run, check: c.id, status: s }, c.status === s ? '1' : '0');

  const trials = r.checks.flatMap((c) => c.trials.map((t) => ({ check: c.id, t })));
  const summaries = {
    outageMs: new Family(
      'l2lab_outage_seconds',
      'summary',
      "Outage per trial: the old holder's last answer to the new holder's first, as the client saw it.",
    ),
    takeoverMs: new Family(
      'l2lab_takeover_seconds',
      'summary',
      "Takeover per trial: the fault to the new holder's first answer, as the client saw it.",
    ),
  };
  const max = new Family('l2lab_outage_max_seconds', 'gauge', 'The longest outage over the trials.');
  const none = new Family(
    'l2lab_no_takeover_trials',
    'gauge',
    'Trials in which no other node took over (worse than any outage; not in the outage summary).',
  );
  const budget = new Family('l2lab_budget_seconds', 'gauge', "The fault's failover budget for this subject.");
  const keys = [...new Set(trials.map(({ check, t }) => `${check}\n${t.fault}`))];
  for (const key of keys) {
    const [check, fault] = key.split('\n') as [string, string];
    const ts = trials.filter((x) => x.check === check && x.t.fault === fault).map((x) => x.t);
    budget.sample({ ...run, check, fault }, seconds(ts[0]!.budgetMs));
    for (const family of ['arp', 'ndp', 'http'] as const) {
      const labels = { ...run, check, fault, family };
      const measured = ts.filter((t) => (family === 'http' ? t.http : t[family]) !== undefined);
      if (!measured.length) continue;
      for (const which of ['outageMs', 'takeoverMs'] as const) {
        const xs = measured.map((t) => figure(t, family, which)).filter((x): x is number => x !== undefined);
        if (!xs.length) continue;
        const s = summaries[which];
        for (const q of [0.5, 0.95]) s.sample({ ...labels, quantile: String(q) }, seconds(percentile(xs, q * 100)!));
        s.sample(labels, seconds(xs.reduce((a, b) => a + b, 0)), '_sum');
        s.sample(labels, String(xs.length), '_count');
        if (which === 'outageMs') max.sample(labels, seconds(Math.max(...xs)));
      }
      if (family !== 'http')
        none.sample(labels, String(measured.filter((t) => figure(t, family, 'outageMs') === undefined).length));
    }
  }
  return `${[info, started, checks, summaries.outageMs, summaries.takeoverMs, max, none, budget]
    .filter((f) => f.lines.length > 2)
    .flatMap((f) => f.lines)
    .join('\n')}\n`;
}

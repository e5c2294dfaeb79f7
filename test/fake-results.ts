// A run's results as the suite writes them, for tests of what reads them (history, nights,
// metrics): power-off trials with the given ARP outages, validated by the results schema itself,
// so a fake can never be something a real run could not write.
import type { Lease } from '../lab/types.ts';
import { type RunResults, runResultsSchema } from '../results/schema.ts';

export interface FakeRun {
  subject: string;
  /** ARP outages of the power-off trials, ms; null: no takeover in that trial. */
  outages: (number | null)[];
  started: Date;
  version?: string;
  lab?: string;
  lease?: Lease;
  /** The failover check's status (default: passed when every trial had a takeover). */
  failover?: 'passed' | 'failed';
  /** Takeover = outage + this, ms (a takeover figure for every trial that had an outage). */
  takeoverExtraMs?: number;
}

export function fakeResults(f: FakeRun): RunResults {
  const trials = f.outages.map((o, i) => ({
    fault: 'power-off',
    trial: i + 1,
    faultAt: f.started.toISOString(),
    budgetMs: 4000,
    arp: {
      splitBrainWindows: 0,
      ...(o === null ? {} : { outageMs: o }),
      ...(o !== null && f.takeoverExtraMs !== undefined ? { takeoverMs: o + f.takeoverExtraMs } : {}),
    },
    excludedAnswered: false,
    passed: o !== null,
    problems: [],
  }));
  const failover = f.failover ?? (f.outages.every((o) => o !== null) ? 'passed' : 'failed');
  const check = (id: string, status: 'passed' | 'failed' | 'skipped', ts: typeof trials = []) => ({
    id,
    title: id,
    description: id,
    status,
    details: [],
    figures: {},
    trials: ts,
    durationMs: 1,
  });
  return runResultsSchema.parse({
    schema: 'l2lab.conformance/v1',
    startedAt: f.started.toISOString(),
    finishedAt: f.started.toISOString(),
    subject: {
      name: f.subject,
      version: f.version ?? '1.0',
      description: '',
      features: ['ipv4'],
      ...(f.lease && { lease: f.lease }),
    },
    lab: { name: f.lab ?? 'demo', provider: 'netns', file: 'lab.yaml', nodes: [] },
    environment: { kernel: '6.1', node: 'v20', l2labCommit: 'abc1234' },
    probeIntervalMs: 20,
    vips: [],
    checks: [check('failover', failover, trials), check('http', 'passed'), check('scale', 'skipped')],
    summary: {
      passed: failover === 'passed' ? 2 : 1,
      failed: failover === 'failed' ? 1 : 0,
      skipped: 1,
      info: 0,
      errors: 0,
    },
  });
}

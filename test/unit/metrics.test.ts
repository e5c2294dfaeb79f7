// `l2lab report metrics`: a run's figures in the Prometheus text format, checked by Debian's
// promtool (the tool Prometheus users lint with), for a run folder and for --last from the history.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { main } from '../../cli/main.ts';
import { metricsText } from '../../reports/metrics.ts';
import { fakeResults } from '../fake-results.ts';
import { l2lab } from '../helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'l2l-metrics-'));
test.after.always(() => rmSync(scratch, { recursive: true, force: true }));

const promtool = async (text: string) => {
  if (!existsSync('/usr/bin/promtool'))
    throw new Error('promtool is missing: bash scripts/install.sh --with metrics installs it (Debian: prometheus)');
  return execa('promtool', ['check', 'metrics'], { input: text, reject: false });
};

const run = fakeResults({
  subject: 'keepalived:fast',
  outages: [1000, 1100, 1200, 1300, null],
  takeoverExtraMs: 400,
  started: new Date('2026-12-01T10:00:00Z'),
});

test('promtool accepts the export, and it holds the figures the report names', async (t) => {
  const text = metricsText(run);
  const lint = await promtool(text);
  t.is(lint.exitCode, 0, lint.stdout + lint.stderr);
  t.is((lint.stdout + lint.stderr).trim(), '', 'no lint problem');
  const base = 'subject="keepalived:fast",lab="demo",check="failover",fault="power-off",family="arp"';
  t.true(text.includes(`l2lab_outage_seconds{${base},quantile="0.5"} 1.1\n`), text);
  t.true(text.includes(`l2lab_outage_seconds_count{${base}} 4\n`));
  t.true(text.includes(`l2lab_outage_seconds_sum{${base}} 4.6\n`));
  t.true(text.includes(`l2lab_takeover_seconds{${base},quantile="0.95"} 1.7\n`));
  t.true(text.includes(`l2lab_outage_max_seconds{${base}} 1.3\n`));
  t.true(text.includes(`l2lab_no_takeover_trials{${base}} 1\n`), 'the trial without a takeover is counted apart');
  t.true(
    text.includes('l2lab_check_status{subject="keepalived:fast",lab="demo",check="failover",status="failed"} 1\n'),
  );
  t.true(text.includes('l2lab_check_status{subject="keepalived:fast",lab="demo",check="scale",status="skipped"} 1\n'));
  t.regex(text, /^l2lab_run_start_timestamp_seconds\{[^}]*\} 1796119200$/m);
  t.notRegex(text, /family="ndp"/, 'a family not measured has no series');
});

test('the checker is real: promtool refuses what breaks the format', async (t) => {
  const broken = `${metricsText(run)}l2lab_outage_seconds{subject="x" 1\n`;
  t.not((await promtool(broken)).exitCode, 0);
});

test('through the command: a run folder to stdout, --last from the history to a file replaced atomically', async (t) => {
  const dir = join(scratch, 'runs', '20261201T100000Z-keepalived-fast-1.0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(run));
  const env = { L2LAB_HISTORY: join(scratch, 'history.sqlite') };
  const folder = await l2lab(['report', 'metrics', dir], env);
  t.is(folder.exitCode, 0, folder.stderr);
  t.is(`${folder.stdout}\n`, metricsText(run));
  // The rest in this process (cli/main.ts): the same parse and verbs, without a process start each.
  Object.assign(process.env, env);
  const io = { out: () => {}, err: () => {}, env: process.env };
  t.is(await main(['report', 'import', join(scratch, 'runs')], io), 0);
  const out = join(scratch, 'textfile', 'l2lab.prom');
  t.is(await main(['report', 'metrics', '--last', '--out', out], io), 0);
  t.is(readFileSync(out, 'utf8'), metricsText(run));
  let err = '';
  t.is(await main(['report', 'metrics'], { ...io, err: (s) => (err += s) }), 2);
  t.regex(err, /give a RUN .* or --last/);
});

// The suite must be honest: it passes the reference announcer, and fails exactly the right
// checks of broken subjects (test/fixtures/subjects). Its clock resolution is calibrated, and
// an interrupted run leaves the lab as it was.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { scriptedSilence, withinBounds } from '../../conformance/calibrate.ts';
import { Context } from '../../conformance/context.ts';
import type { ProbeResult } from '../../conformance/events.ts';
import type { FaultName, RunResults } from '../../conformance/model.ts';
import { loadSubject } from '../../conformance/subject.ts';
import { runSuite } from '../../conformance/suite.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown } from '../../lab/lifecycle.ts';
import { writeRun } from '../../reports/write.ts';
import { eventsFileOf } from '../../results/folder.ts';
import { readResults } from '../../results/schema.ts';
import { FAST_LEASE, fixture, labFile, netns, ownLab, quickSuite, quiet, repo } from '../helpers.ts';

const file = labFile('tconf', 108);
const lab = loadLab(file);
const fast = FAST_LEASE;
const out = () => mkdtempSync(join(tmpdir(), 'l2l-report-'));
const statusOf = (r: RunResults) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));
const suite = (subject: string, only: string[], faults?: FaultName[]) => quickSuite(lab, subject, only, faults);

ownLab(lab);

test.serial(
  'lease store lost: every VIP falls silent after renewDeadline, and answers resume once it is back',
  async (t) => {
    const r = await suite('reference', ['store-outage'], []);
    const f = r.checks.find((c) => c.id === 'store-outage')!.figures;
    t.log(JSON.stringify(f));
    t.true((f['store_down.outage_ms'] as number) >= 4000, 'down for 4 × leaseDuration (1 s leases)');
    t.is(f['store_down.still_answered'], 0, 'a holder that cannot renew stops answering');
    // Holders stop at renewDeadline (500 ms) after their last renewal: within a lease of the loss.
    const stop = f['store_down.answers_stop_after_ms'] as number;
    t.true(stop >= 200 && stop <= 1500, `first silent after ${stop} ms`);
    t.true((f['store_down.all_silent_after_ms'] as number) <= 1500);
    const resume = f['store_back.answers_resume_after_ms'];
    // From the power-on of the store's node: its boot, then the next retry of a candidate.
    t.true(typeof resume === 'number' && resume > 0 && resume < 5000, `answers resume after ${resume} ms`);
  },
);

test.serial('the reference announcer passes, and the report is complete', async (t) => {
  const { results: r, dir } = await runSuite({
    lab,
    subject: 'reference',
    trials: 1,
    faults: ['power-off', 'graceful-stop'],
    // one L2 domain and a flooding switch that never forgets here: test/lab/domains.test.ts (and
    // late-interface), test/lab/unnumbered.test.ts, test/lab/snooping.test.ts, test/lab/quiet-switch.test.ts
    skip: [
      'store-outage',
      'scale',
      'domain-isolation',
      'late-interface',
      'unnumbered-nic',
      'multicast-snooping',
      'quiet-switch',
    ],
    probeIntervalMs: 20,
    lease: fast,
    progress: () => {},
    outDir: join(out(), 'new-folder'), // not there yet, as with the CLI's default folder
  });
  t.deepEqual(
    r.checks.filter((c) => c.status !== 'passed' && c.status !== 'info').map((c) => `${c.id}: ${c.reason}`),
    [],
  );
  // Informational (reported, never judged): the reference announcer's 3 GARPs 100 ms apart.
  const pattern = r.checks.find((c) => c.id === 'announcement-pattern')!;
  t.is(pattern.status, 'info');
  // A new holder that lost the VIP and took it again (CI once: a burst 3 s later) is reported apart.
  t.log(pattern.details.join('\n'));
  t.regex(String(pattern.figures['arp.pattern']), /^3 in \d+ ms, every \d+ ms/);
  // It reads the failover check's first power-off trial (watched 6 s for it) instead of a trial of its own.
  t.regex(pattern.details.join('\n'), /capture: .*power-off-1\.pcap \(the failover check's power-off trial #1\)/);
  t.true((r.checks.find((c) => c.id === 'failover')!.trials[0]!.watchAfterMs ?? 0) >= 6000);
  // Two more services on the Gateway's address: still one answer, also when one of them moves.
  t.regex(
    r.checks.find((c) => c.id === 'shared-ip')!.details!.join('\n'),
    /left policy l2lab-shared: .* 0 probes answered twice/,
  );
  t.regex(
    r.checks.find((c) => c.id === 'shared-ip')!.details!.join('\n'),
    /power-off #1 \(failover check\) of node0\d/,
  );
  t.is(r.schema, 'l2lab.conformance/v1');
  t.is(r.vips[0]!.ipv4, '198.18.0.100');
  const trial = r.checks.find((c) => c.id === 'failover')!.trials[0]!;
  t.true(trial.arp!.takeoverMs! < trial.budgetMs && trial.arp!.newNode !== trial.arp!.oldNode);
  // the suite returns results; the CLI writes the folder (writeRun), as here, without a history
  writeRun(dir, r, { history: false });
  // the one schema reads back every field the suite wrote, unchanged (a field it does not know would be dropped)
  const json = (x: unknown) => JSON.parse(JSON.stringify(x));
  t.deepEqual(
    json(readResults(join(dir, 'results.json'))),
    json(r),
    'results.json reads back through the schema as written',
  );
  const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
  t.regex(junit, /<testsuite name="l2lab.failover"/);
  t.regex(junit, /<property name="arp_outage_ms" value="\d+/);
  t.regex(junit, /<property name="subject" value="reference"\/>/);
  t.true(existsSync(join(dir, 'summary.md')));
  const pcap = await execa('tcpdump', ['-n', '-r', join(dir, trial.capture!)], { reject: false });
  t.regex(pcap.stdout, /ARP, Reply 198\.18\.0\.100 is-at/, 'the capture opens in tcpdump');
  // The prober's own requests are in the capture (sent on one handle, captured on another), from
  // its rotating addresses, and so are its solicitations.
  t.regex(pcap.stdout, /ARP, Request who-has 198\.18\.0\.100 tell 198\.18\.0\.2[2-5]\d/);
  t.regex(pcap.stdout, /fd4c:3200:18::2[2-5]\d > ff02::1:ff.*neighbor solicitation, who has fd4c:3200:18::1:/);
  // Beside it, the events the suite read: every answer to the prober names its request, which the
  // capture saw leave before the answer came.
  const saved = JSON.parse(readFileSync(join(dir, eventsFileOf(trial.capture!)), 'utf8')) as ProbeResult;
  t.is(saved.stats.dropped, 0);
  t.true(saved.sources >= 8);
  const requests = new Map(
    saved.events
      .filter((e) => e.req !== undefined && (e.kind === 'arp-request' || e.kind === 'ns'))
      .map((e) => [e.req!, e]),
  );
  const answered = saved.events.filter((e) => (e.kind === 'arp-reply' || e.kind === 'na') && !e.forClient);
  t.true(requests.size > 20 && answered.length > 20, `${requests.size} requests, ${answered.length} answers`);
  for (const a of answered) {
    const q = requests.get(a.req!);
    t.truthy(q, `an answer at ${a.t} names no request`);
    if (q)
      t.true(q.t <= a.t && q.vip === a.vip && q.src === a.dst, `answer ${JSON.stringify(a)} to ${JSON.stringify(q)}`);
  }
});

test.serial('two nodes holding the VIP: single-responder and no-split-brain fail; the rest holds', async (t) => {
  const r = await suite(fixture('two-holders'), [
    'single-responder',
    'no-split-brain',
    'eligible-responder',
    'management-silent',
  ]);
  t.like(statusOf(r), {
    'single-responder': 'failed',
    'no-split-brain': 'failed',
    'eligible-responder': 'passed',
    'management-silent': 'passed',
  });
});

test.serial(
  'an announcer that never sends gratuitous ARP: gratuitous and stale-cache fail, failover passes',
  async (t) => {
    const r = await suite(fixture('no-garp'), ['single-responder', 'failover', 'gratuitous', 'stale-cache']);
    t.like(statusOf(r), {
      'single-responder': 'passed',
      failover: 'passed',
      gratuitous: 'failed',
      'stale-cache': 'failed',
    });
  },
);

test.serial(
  'an announcer that never moves: failover fails, and gratuitous fails too (no takeover is not a pass)',
  async (t) => {
    const r = await suite(fixture('no-takeover'), ['single-responder', 'failover', 'gratuitous']);
    t.like(statusOf(r), { 'single-responder': 'passed', failover: 'failed', gratuitous: 'failed' });
    t.regex(r.checks.find((c) => c.id === 'gratuitous')!.reason!, /no takeover/);
  },
);

test.serial(
  'claims IPv6 and unsolicited NA but never answers NDP: gratuitous fails on the NDP side (nothing to judge is no pass)',
  async (t) => {
    const r = await suite(fixture('no-ndp'), ['pool-address', 'failover', 'gratuitous']);
    t.like(statusOf(r), { 'pool-address': 'failed', gratuitous: 'failed' });
    const g = r.checks.find((c) => c.id === 'gratuitous')!;
    t.regex(g.reason!, /NDP: no takeover seen in any trial, so no unsolicited NA to judge/);
    t.notRegex(g.reason!, /gratuitous ARP/, 'the ARP side announced');
  },
);

test.serial(
  'an announcer that falls silent after its link bounced (Cilium #48626): switch-outage fails, nobody answers',
  async (t) => {
    const r = (
      await runSuite({
        lab,
        subject: fixture('silent-after-bounce'),
        trials: 1,
        faults: [],
        only: ['single-responder', 'switch-outage'],
        probeIntervalMs: 20,
        lease: fast,
        switchDownMs: 1000,
        progress: () => {},
        outDir: out(),
      })
    ).results;
    t.like(statusOf(r), { 'single-responder': 'passed', 'switch-outage': 'failed' });
    t.regex(
      r.checks.find((c) => c.id === 'switch-outage')!.reason!,
      /ARP: nobody answered for 198\.18\.0\.100 within \d+ ms of the switch coming back/,
    );
    t.deepEqual((await netns.status(lab)).faults, [], 'the switch is back');
  },
);

test.serial(
  'the holder taken out of the policy (relabel, Cilium #32148): the VIP moves; an announcer blind to its labels fails',
  async (t) => {
    const r = await suite('reference', ['failover'], ['relabel']);
    const trial = r.checks.find((c) => c.id === 'failover')!.trials[0]!;
    t.is(trial.fault, 'relabel');
    t.is(statusOf(r).failover, 'passed', trial.problems.join('; '));
    // It lets go when it sees the change: the next retry takes over, well inside the lease.
    t.true(trial.arp!.takeoverMs! < 1000, `ARP ${trial.arp!.takeoverMs} ms`);
    t.log(
      `relabel: ${trial.arp!.oldNode} → ${trial.arp!.newNode} in ${trial.arp!.takeoverMs} ms (budget ${trial.budgetMs} ms)`,
    );
    const labels = await netns.exec(lab, 'cp01', [
      'sh',
      '-c',
      `ETCDCTL_API=3 etcdctl --endpoints http://${lab.nodes[0]!.interfaces.find((i) => i.name === 'eth0')!.ipv4}:2379 get --prefix ` +
        `/l2lab/nodes/${trial.arp!.oldNode}/labels/`,
    ]);
    t.regex(labels.stdout, /datacenter\ndc[12]/, 'the undo gave the label back');

    const blind = await suite(fixture('relabel-blind'), ['failover'], ['relabel']);
    t.is(statusOf(blind).failover, 'failed');
    t.regex(blind.checks.find((c) => c.id === 'failover')!.reason!, /ARP: no other node answered/);
  },
);

test.serial(
  'services sharing an address, one election per service (Cilium #48419): when one moves alone, shared-ip fails',
  async (t) => {
    const r = await suite(fixture('shared-per-service'), ['single-responder', 'shared-ip']);
    const reason = r.checks.find((c) => c.id === 'shared-ip')!.reason!;
    t.is(statusOf(r)['shared-ip'], 'failed');
    // Which node wins each service's election is a race: usually the same node wins both (the
    // split shows once one service moves alone); sometimes (1 of 5 runs here, 2026-12-06) another
    // node wins the sharing service's lease at once, and two nodes answer before anything moved.
    // Both are #48419.
    if (statusOf(r)['single-responder'] === 'passed')
      t.regex(
        reason,
        /198\.18\.0\.100 ARP: \d+ probes answered by two nodes .* once node0[12] left the policy of one service/,
      );
    else {
      t.log(`split before any move: ${reason}`);
      t.regex(reason, /198\.18\.0\.100 ARP: 2 nodes answer \(node0\d, node0\d\)/);
      t.regex(r.checks.find((c) => c.id === 'single-responder')!.reason!, /198\.18\.0\.100 ARP: 2 responders/);
    }
  },
);

test.serial(
  'externalTrafficPolicy Local (Cilium #46399, #48799): only the backend node answers and the answer follows it; a Local Gateway stays ' +
    'announced',
  async (t) => {
    const r = await suite('reference', ['local-traffic'], []);
    const c = r.checks.find((x) => x.id === 'local-traffic')!;
    t.log(c.details.join('\n'));
    t.is(c.status, 'passed', c.reason);
    for (const step of ['move', 'return'])
      for (const f of ['arp', 'ndp']) {
        const ms = c.figures[`${step}.${f}_ms`] as number;
        t.true(ms >= 0 && ms < 1000, `${step} ${f}: ${ms} ms, within a lease`);
        t.is(c.figures[`${step}.${f}.split_brain_windows`], 0);
      }
    t.is(c.figures['gateway.arp.responders'], 1);

    // Before #46399: the lease holder answers wherever the backend is; moving it moves nothing.
    const anywhere = await suite(fixture('local-anywhere'), ['local-traffic'], []);
    const a = anywhere.checks.find((x) => x.id === 'local-traffic')!;
    t.log(a.reason!);
    t.is(a.status, 'failed');
    t.regex(
      a.reason!,
      /answered with the backend on node02 only|node01 did not answer within \d+ ms of its backend moving there/,
    );
    // #48799: the Local Gateway is counted by its synthetic endpoint, on no node: nobody answers.
    const dropped = await suite(fixture('local-gateway-dropped'), ['local-traffic'], []);
    const d = dropped.checks.find((x) => x.id === 'local-traffic')!;
    t.log(d.reason!);
    t.is(d.status, 'failed');
    t.regex(
      d.reason!,
      /Gateway l2lab-local\/cilium-gateway-local.*nobody answers: its backend is the Envoy on every node/,
    );
  },
);

test.serial('l2l-label refuses what it cannot do, naming why', async (t) => {
  const label = (host: string, ...args: string[]) => netns.exec(lab, host, ['/etc/l2lab/bin/l2l-label', ...args]);
  const unknown = await label('cp01', 'node09', 'datacenter-');
  t.is(unknown.exitCode, 1);
  t.regex(unknown.stderr, /node node09 is not registered in the lab store/);
  const bad = await label('cp01', 'node01', 'data center-');
  t.is(bad.exitCode, 2);
  t.regex(bad.stderr, /bad label key "data center"/);
  const worker = await label('node01', 'node01', 'datacenter-');
  t.regex(worker.stderr, /no cluster .* and no lab store .* run it on the control plane/);
  const backend = (...args: string[]) => netns.exec(lab, 'cp01', ['/etc/l2lab/bin/l2l-backend', ...args]);
  t.regex((await backend('local', 'node01')).stderr, /bad service "local" \(NAMESPACE\/NAME/);
  t.regex((await backend('l2lab-local/local', 'node01;x')).stderr, /bad node list "node01;x"/);
  const nobody = await backend('l2lab-local/local', 'node01,node09');
  t.is(nobody.exitCode, 1);
  t.regex(nobody.stderr, /node node09 is not registered in the lab store/);
});

test.serial('an announcer that also answers on the management network: management-silent fails', async (t) => {
  const r = await suite(fixture('mgmt-answer'), ['single-responder', 'management-silent']);
  t.like(statusOf(r), { 'single-responder': 'passed', 'management-silent': 'failed' });
});

test.serial('an announcer on the excluded node: eligible-responder fails', async (t) => {
  const r = await suite(fixture('excluded-node'), ['single-responder', 'eligible-responder']);
  t.like(statusOf(r), { 'single-responder': 'passed', 'eligible-responder': 'failed' });
  t.regex(r.checks.find((c) => c.id === 'eligible-responder')!.reason!, /node03 answered/);
});

test.serial(
  'a subject declared with a plain command line (run, on all nodes): the excluded node answers, so two checks fail',
  async (t) => {
    const r = await suite(fixture('excluded-run'), ['single-responder', 'eligible-responder']);
    t.like(statusOf(r), { 'single-responder': 'failed', 'eligible-responder': 'failed' });
    t.regex(r.checks.find((c) => c.id === 'eligible-responder')!.reason!, /node03 answered/);
  },
);

test.serial('an announcer far slower than its budget: failover fails', async (t) => {
  const r = await suite(fixture('slow'), ['single-responder', 'failover']);
  t.like(statusOf(r), { 'single-responder': 'passed', failover: 'failed' });
  t.regex(r.checks.find((c) => c.id === 'failover')!.reason!, /budget 1000 ms/);
});

test.serial(
  'slow but right: answers 100 ms late still name the holder before each fault, and the suite passes it',
  async (t) => {
    // Before the baseline waited for its requests' answers, the suite never saw this holder as
    // stable ("no single stable responder for 198.18.0.100 within 15000 ms (answered by node02)").
    const r = await suite(fixture('slow-answers'), ['single-responder', 'failover'], ['power-off', 'graceful-stop']);
    t.like(statusOf(r), { 'single-responder': 'passed', failover: 'passed' }, JSON.stringify(r.checks));
    const trials = r.checks.find((c) => c.id === 'failover')!.trials;
    t.is(trials.length, 2);
    // The new holder's first answer comes at least its delay after the fault.
    for (const tr of trials) t.true(tr.arp!.takeoverMs! >= 100, `${tr.fault}: ARP takeover ${tr.arp!.takeoverMs} ms`);
  },
);

test.serial(
  'unsolicited NAs a receiver cannot use (Cilium before #46079): gratuitous fails, naming the flag or option and the RFC',
  async (t) => {
    const noO = await suite(fixture('na-no-override'), ['gratuitous']);
    const g = noO.checks.find((c) => c.id === 'gratuitous')!;
    t.is(g.status, 'failed', JSON.stringify(g));
    t.regex(g.reason!, /unsolicited NA from node0\d without the Override flag.*RFC 4861 §7\.2\.5-7\.2\.6/);
    t.notRegex(g.reason!, /link-layer address/, 'its NAs do carry the option');
    // The defect it reproduces is named beside the failure: in the results, JUnit and the summary.
    t.deepEqual(
      g.known?.map((k) => k.issue),
      ['cilium/cilium#46079'],
    );
    const dir = out();
    writeRun(dir, noO, { history: false });
    t.regex(
      readFileSync(join(dir, 'junit.xml'), 'utf8'),
      /\[known: cilium\/cilium#46079 \(fixed in 1\.19\.5, 1\.20\.0\)\]/,
    );
    t.regex(
      readFileSync(join(dir, 'summary.md'), 'utf8'),
      /\| gratuitous \| failed \| .* — known: cilium\/cilium#46079/,
    );
    const noOpt = await suite(fixture('na-no-option'), ['gratuitous']);
    const h = noOpt.checks.find((c) => c.id === 'gratuitous')!;
    t.is(h.status, 'failed', JSON.stringify(h));
    t.regex(h.reason!, /unsolicited NA from node0\d without the target link-layer address option.*RFC 4861 §7\.2\.6/);
    t.notRegex(h.reason!, /Override/, 'its NAs do set the flag');
    t.is(h.known, undefined, 'a fixture that names no known defect gets none');
  },
);

test.serial('calibration: a scripted outage of known length is measured within ±2 probe intervals', async (t) => {
  await suite(fixture('excluded-node'), ['single-responder']); // one static responder, no failover logic
  const subject = loadSubject(fixture('excluded-node'), lab.lease);
  const ctx = new Context(
    lab,
    netns,
    subject,
    [{ service: 'x', labels: {}, ipv4: '198.18.0.100', ipv6: 'fd4c:3200:18::1:1' }],
    out(),
    20,
    () => {},
  );
  for (const outageMs of [300, 700]) {
    const c = await scriptedSilence(ctx, 'node03', 'static', '198.18.0.100', outageMs);
    t.log(`scripted ${outageMs} ms outage (really ${c.leastMs}–${c.mostMs} ms) measured as ${c.measuredMs} ms`);
    t.true(withinBounds(c, 20, 2), `measured ${c.measuredMs} ms for an outage of ${c.leastMs}–${c.mostMs} ms`); // ±2 probe intervals
  }
});

test.serial('scale: 50 VIPs move within 1.5× the budget when their holder is powered off', async (t) => {
  const big = loadLab(labFile('tscale', 109, () => {}, 'labs/scale.yaml'));
  try {
    const { results } = await runSuite({
      lab: big,
      subject: 'reference',
      trials: 1,
      faults: [],
      only: ['scale'],
      probeIntervalMs: 20,
      lease: fast,
      progress: () => {},
      outDir: out(),
    });
    const c = results.checks[0]!;
    t.is(c.status, 'passed', c.reason);
    t.is(c.figures.vips, 50);
    t.true((c.figures.moved as number) > 0);
  } finally {
    await labDown(big.name, quiet, netns);
  }
});

test.serial('Ctrl-C during a failover trial: the fault is undone and the lab is as it was', async (t) => {
  const child = spawn(
    'node',
    [
      join(repo, 'scripts', 'run.mjs'),
      'conformance',
      '--lab',
      file,
      '--subject',
      'reference',
      '--only',
      'failover',
      '--faults',
      'network-off',
      '--trials',
      '3',
      '--lease-duration',
      '3000',
      '--lease-renew-deadline',
      '1500',
      '--lease-retry-period',
      '500',
      '--out',
      out(),
    ],
    { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  let sent = false;
  await new Promise<void>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/network-off #1: .*injecting/.test(err) && !sent) {
        sent = true;
        setTimeout(() => {
          child.kill('SIGINT');
          resolve();
        }, 800);
      }
    });
    child.on('exit', () => resolve());
  });
  const code = await new Promise<number | null>((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c)),
  );
  t.is(code, 130, err.slice(-500));
  t.regex(err, /interrupted: undoing faults/);
  const s = await netns.status(lab);
  t.deepEqual(s.faults, []);
  t.is(s.state, 'up');
  // Nor a file of the prober's handshake (the netns client shares this /tmp): a CI run once left one.
  t.deepEqual(
    readdirSync('/tmp').filter((f) => f.startsWith(`l2l-probe-${child.pid}-`)),
    [],
  );
});

// Every answer tied to its request, measured where it used to break: VRRP peers failing over while
// both cores are kept busy (a CPU hog: the prober and the responders starve), the prober at 5 ms,
// and a scripted outage of known length. Not CI: minutes of work, and the verdict is a count.
import { type ChildProcess, spawn } from 'node:child_process';
import { buildBundles } from '../conformance/bundles.ts';
import { scriptedSilence, withinBounds } from '../conformance/calibrate.ts';
import { Context } from '../conformance/context.ts';
import { Prober } from '../conformance/prober.ts';
import { loadSubject } from '../conformance/subject.ts';
import { runSuite } from '../conformance/suite.ts';
import { derivedLabFile as labFile } from '../lab/derive.ts';
import { loadLab } from '../lab/labfile.ts';
import { labDown } from '../lab/lifecycle.ts';
import { repoRoot } from '../lab/paths.ts';
import { silentProgress } from '../lab/progress.ts';
import { getProvider } from '../lab/providers/index.ts';

export interface AttributionBench {
  soak: {
    subject: string;
    trials: number;
    passed: number;
    splitBrain: number;
    duplicates: number;
    medianMs?: number;
  }[];
  prober: { intervalMs: number; sent: number; answered: number; attributed: number };
  calibration: {
    scriptedMs: number;
    leastMs: number;
    mostMs: number;
    measuredMs: number;
    withinOneInterval: boolean;
  }[];
}

/**
 * Both cores busy for at most `ms` (each hog ends itself then): the load under which CI saw false
 * split-brain. Each runs in a process group of its own, killed whole by stopHogs (and on exit).
 */
function hogs(ms: number): ChildProcess[] {
  const list = [0, 1].map(() =>
    spawn('timeout', [String(Math.ceil(ms / 1000)), 'sh', '-c', 'while :; do :; done'], {
      stdio: 'ignore',
      detached: true,
    }),
  );
  process.once('exit', () => stopHogs(list));
  return list;
}

function stopHogs(list: ChildProcess[]): void {
  for (const h of list)
    try {
      if (h.pid) process.kill(-h.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
}

export async function benchAttribution(trials: number): Promise<AttributionBench> {
  const lab = loadLab(labFile('lbattr', 251));
  const p = getProvider(lab.provider);
  const log = (m: string) => process.stderr.write(`  ${m}\n`);
  await labDown(lab.name, silentProgress, p);
  await buildBundles();
  try {
    const soak: AttributionBench['soak'] = [];
    for (const subject of ['frr:fast', 'keepalived:fast']) {
      log(`${subject}: ${trials} power-off trials with both cores busy`);
      const load = hogs(30 * 60_000);
      try {
        const { results } = await runSuite({
          lab,
          subject,
          trials,
          faults: ['power-off'],
          only: ['failover'],
          probeIntervalMs: 20,
          progress: () => {},
          outDir: `/tmp/l2l-bench-soak-${subject.replace(':', '-')}`,
        });
        const ts = results.checks.flatMap((c) => c.trials);
        const outages = ts
          .map((t) => t.arp?.outageMs)
          .filter((x): x is number => x !== undefined)
          .sort((a, b) => a - b);
        soak.push({
          subject,
          trials: ts.length,
          passed: ts.filter((t) => t.passed).length,
          splitBrain: ts.reduce((n, t) => n + (t.arp?.splitBrainWindows ?? 0) + (t.ndp?.splitBrainWindows ?? 0), 0),
          duplicates: ts.reduce((n, t) => n + (t.arp?.duplicates ?? 0) + (t.ndp?.duplicates ?? 0), 0),
          medianMs: outages[Math.floor(outages.length / 2)],
        });
      } finally {
        stopHogs(load);
      }
    }

    // The prober at its fastest: 1000 rounds in 5 s, each answer tied to its request.
    log('the prober at 5 ms for 5 s (reference announcer)');
    const ref = await runSuite({
      lab,
      subject: 'reference',
      trials: 1,
      faults: ['power-off'],
      only: ['single-responder'],
      probeIntervalMs: 20,
      lease: { durationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 200 },
      progress: () => {},
      outDir: '/tmp/l2l-bench-attr-ref',
    });
    const vip = ref.results.vips[0]!;
    const prober = new Prober(lab, p, '/tmp/l2l-bench-attr-prober', 5);
    const { events } = await prober.probe('prober-5ms', 5000, {
      ipv4: true,
      ipv6: false,
      vips: [{ ...vip, labels: {} }],
      keep: false,
    });
    const sent = events.filter((e) => e.kind === 'arp-request');
    const replies = events.filter((e) => e.kind === 'arp-reply' && !e.forClient);
    const probeFig = {
      intervalMs: 5,
      sent: sent.length,
      answered: new Set(replies.map((e) => e.req).filter((r) => r !== undefined)).size,
      attributed: replies.filter((e) => e.req !== undefined).length,
    };

    // A scripted silence of a static responder (paused): measured against the pause's own bounds.
    log('calibration: scripted silences of a static responder');
    const fixture = `${repoRoot}/test/fixtures/subjects/excluded-node.yaml`;
    await runSuite({
      lab,
      subject: fixture,
      trials: 1,
      faults: ['power-off'],
      only: ['single-responder'],
      probeIntervalMs: 20,
      progress: () => {},
      outDir: '/tmp/l2l-bench-attr-static',
    });
    const ctx = new Context(
      lab,
      p,
      loadSubject(fixture, lab.lease),
      [{ service: 'x', labels: {}, ipv4: '198.18.0.100' }],
      '/tmp/l2l-bench-attr-cal',
      20,
      () => {},
    );
    const calibration: AttributionBench['calibration'] = [];
    for (const scriptedMs of [750, 750, 750]) {
      const c = await scriptedSilence(ctx, 'node03', 'static', '198.18.0.100', scriptedMs);
      calibration.push({ ...c, withinOneInterval: withinBounds(c, 20, 1) });
    }
    return { soak, prober: probeFig, calibration };
  } finally {
    await labDown(lab.name, silentProgress, p);
  }
}

export function printAttribution(b: AttributionBench): void {
  console.log('\nanswers tied to their requests (netns lab)');
  for (const s of b.soak)
    console.log(
      `  ${s.subject}, power-off × ${s.trials} with both cores busy: ${s.splitBrain} requests answered by two MACs, ${s.duplicates} ` +
        `duplicates, ${s.passed} of ${s.trials} trials passed, ARP outage median ${s.medianMs?.toFixed(0) ?? '-'} ms`,
    );
  const p = b.prober;
  console.log(
    `  prober every ${p.intervalMs} ms for 5 s: ${p.sent} requests captured, ${p.answered} answered, ${p.attributed} answers tied to ` +
      `their request (ratio ${(p.answered / Math.max(1, p.sent)).toFixed(3)})`,
  );
  for (const c of b.calibration)
    console.log(
      `  a ${c.scriptedMs} ms silence (really ${c.leastMs}–${c.mostMs} ms) measured as ${c.measuredMs} ms: ` +
        `${c.withinOneInterval ? 'within' : 'NOT within'} one probe interval`,
    );
}

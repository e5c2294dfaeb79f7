// The reference announcer in the netns lab, installed by its playbook, measured from the
// client with the prober: one eligible responder, then break → moves → heal for each fault.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { failover, responders, splitBrain } from '../../conformance/analyze.ts';
import { buildBundles } from '../../conformance/bundles.ts';
import type { ProbeEvent } from '../../conformance/events.ts';
import { Prober } from '../../conformance/prober.ts';
import { injectFault, undoFault } from '../../lab/faults/index.ts';
import { switchNic } from '../../lab/hosts.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import type { Fault, Lab } from '../../lab/types.ts';
import { inventoryFromStatus } from '../../playbooks/inventory.ts';
import { findPlaybook, loadPlaybook } from '../../playbooks/playbook.ts';
import { runPlaybook } from '../../playbooks/runner.ts';
import { labFile, netns, quiet, repo } from '../helpers.ts';

const file = labFile('tann', 107);
const lab: Lab = loadLab(file);
const lease = { durationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 200 };
// expiry, seen up to one candidate retry late and noticed at the next (× [1, 2.2): client-go jitter), + scheduling
const budgetMs = lease.durationMs + 2 * lease.retryPeriodMs * 2.2 + 300;
const VIP4 = '198.18.0.100',
  VIP6 = 'fd4c:3200:18::1:0'; // the /124's first address: allocatable since Cilium 1.16
const nodeOfMac = (mac?: string) => lab.nodes.find((n) => switchNic(n).mac === mac)?.name;
const vips = [{ service: 'kube-system/cilium-gateway-central', labels: {}, ipv4: VIP4, ipv6: VIP6 }];
// The suite's own prober: the fault waits until it captures (ready file) and has a baseline.
const prober = new Prober(lab, netns, mkdtempSync(join(tmpdir(), 'l2l-ann-')), 20);

async function probe(
  durationMs: number,
  during?: () => Promise<void>,
): Promise<{ r: { events: ProbeEvent[] }; faultAt: number }> {
  const w = await prober.probe('announcer', durationMs, { ipv4: true, ipv6: true, vips, during, keep: false });
  return { r: { events: w.events }, faultAt: w.faultAt };
}

/** The one node answering every ARP request of a short probe (waits for it, up to 10 s). */
async function holder(): Promise<string> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const { r } = await probe(200);
    const macs = responders(r.events, VIP4, 'arp');
    if (macs.length === 1) return nodeOfMac(macs[0])!;
  }
  throw new Error('no single holder within 10 s');
}

test.before(async () => {
  await buildBundles();
  await labDown(lab.name, quiet, netns);
  await labUp(lab, quiet, netns);
  const inv = inventoryFromStatus(await netns.status(lab, { probe: false }));
  const r = await runPlaybook(loadPlaybook(findPlaybook('announcer')), inv, {
    out: { write: () => {} },
    extraVars: {
      announcer_lease_duration_ms: lease.durationMs,
      announcer_lease_renew_deadline_ms: lease.renewDeadlineMs,
      announcer_lease_retry_period_ms: lease.retryPeriodMs,
    },
  });
  if (!r.ok)
    throw new Error(`announcer playbook failed: ${JSON.stringify(r.records.filter((x) => x.status === 'failed'))}`);
  await holder();
});
test.after.always(async () => {
  await labDown(lab.name, quiet, netns);
});

test.serial(
  'exactly one eligible node answers ARP and NDP for the VIP; node03 never; nothing on the management network',
  async (t) => {
    const { r } = await probe(1500);
    const v4 = responders(r.events, VIP4, 'arp'),
      v6 = responders(r.events, VIP6, 'ndp');
    t.is(v4.length, 1, `ARP responders: ${v4}`);
    t.deepEqual(v6, v4, 'the same node answers NDP');
    t.true(['node01', 'node02'].includes(nodeOfMac(v4[0])!), 'allowed by the policy (dc1, dc2)');
    const requests = r.events.filter((e) => e.kind === 'arp-request').length;
    t.true(
      responders(r.events, VIP4, 'arp').length === 1 &&
        r.events.filter((e) => e.kind === 'arp-reply').length >= requests * 0.95,
      'every request answered',
    );
    // The management network (host side, our own bridge): nobody answers for the VIP there.
    const mgmt = await execa('arping', ['-c', '3', '-w', '1', '-I', 'l2l-tann-br', VIP4], { reject: false });
    t.notRegex(mgmt.stdout, /bytes from/);
    // The holder's metrics say so too.
    const h = nodeOfMac(v4[0])!;
    const m = await (
      await fetch(`http://198.19.107.1${lab.nodes.findIndex((n) => n.name === h) + 1}:9475/metrics`)
    ).text();
    t.regex(m, /l2lab_announcer_leader\{service="kube-system\/cilium-gateway-central"\} 1/);
    t.regex(m, /l2lab_announcer_requests_received_total\{interface="eth1",protocol="arp"\} [1-9]/);
    t.regex(m, /l2lab_announcer_gratuitous_sent_total\{interface="eth1",protocol="ndp"\} [1-9]/);
    // HTTP through the VIP reaches the holder's backend; another Host gets 404.
    const curl = await netns.exec(lab, 'client', [
      'curl',
      '-s',
      '-m',
      '2',
      '-H',
      'Host: myservice.findichgut.net',
      `http://${VIP4}/`,
    ]);
    t.is(curl.stdout.trim(), h);
    const curl6 = await netns.exec(lab, 'client', [
      'curl',
      '-s',
      '-g',
      '-m',
      '2',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'Host: other.example',
      `http://[${VIP6}]/`,
    ]);
    t.is(curl6.stdout, '404');
  },
);

async function breakMovesHeal(t: any, fault: (h: string) => Fault, maxMs: number) {
  const before = await holder();
  const f = fault(before);
  let result: Awaited<ReturnType<typeof probe>>;
  try {
    result = await probe(maxMs + 1500, async () => {
      await injectFault(netns, lab, f);
    });
  } finally {
    await undoFault(netns, lab, f);
  }
  const { r, faultAt } = result;
  for (const fam of ['arp', 'ndp'] as const) {
    const vip = fam === 'arp' ? VIP4 : VIP6;
    const fo = failover(r.events, vip, fam, faultAt);
    t.is(nodeOfMac(fo.oldMac), before, `${fam}: answered by ${before} before the fault`);
    t.truthy(fo.newMac, `${fam}: someone else answers after the fault`);
    t.not(nodeOfMac(fo.newMac), 'node03', `${fam}: never the excluded node`);
    const fromFault = (fo.firstNew! - faultAt) / 1000;
    t.log(
      `${f.kind} ${fam}: ${nodeOfMac(fo.oldMac)} → ${nodeOfMac(fo.newMac)}, new responder ${fromFault.toFixed(0)} ms after the fault, ` +
        `outage ${fo.outageMs?.toFixed(0)} ms`,
    );
    t.true(fromFault <= maxMs, `${fam}: new responder ${fromFault.toFixed(0)} ms after the fault (budget ${maxMs} ms)`);
    t.truthy(fo.announcedAt, `${fam}: ${fam === 'arp' ? 'gratuitous ARP' : 'unsolicited NA'} from the new MAC`);
    t.deepEqual(splitBrain(r.events, vip, fam), [], `${fam}: never two MACs in one probe window`);
  }
  return { r, faultAt };
}

test.serial(
  'power off the holder: another eligible node answers within leaseDuration + retryPeriod, with GARP and NA',
  async (t) => {
    await breakMovesHeal(t, (h) => ({ kind: 'power-off', node: h }), budgetMs);
  },
);

test.serial("graceful stop of the holder's announcer: takeover within about one retry period", async (t) => {
  await breakMovesHeal(
    t,
    (h) => ({ kind: 'process-stop', node: h, process: 'announcer', signal: 'TERM' }),
    lease.retryPeriodMs * 2.2 + 400,
  );
});

test.serial('announcing link down on the holder (management still up): another node takes over', async (t) => {
  await breakMovesHeal(t, (h) => ({ kind: 'link-down', node: h, iface: 'eth1' }), lease.retryPeriodMs * 2.2 + 500);
});

test.serial('store partition (management link down, switch up): the holder stops before anyone starts', async (t) => {
  const { r, faultAt } = await breakMovesHeal(t, (h) => ({ kind: 'link-down', node: h, iface: 'eth0' }), budgetMs);
  const fo = failover(r.events, VIP4, 'arp', faultAt);
  t.true(fo.lastOld! < fo.firstNew!, "the old holder's last answer comes before the new one's first");
  t.true(
    (fo.lastOld! - faultAt) / 1000 <= lease.renewDeadlineMs + 150,
    `old holder answered until ${((fo.lastOld! - faultAt) / 1000).toFixed(0)} ms after the cut (renewDeadline ${lease.renewDeadlineMs})`,
  );
});

test.serial('the announcer playbook is idempotent: a re-run changes nothing and restarts nothing', async (t) => {
  const inv = inventoryFromStatus(await netns.status(lab, { probe: false }));
  const r = await runPlaybook(loadPlaybook(findPlaybook('announcer')), inv, {
    out: { write: () => {} },
    extraVars: {
      announcer_lease_duration_ms: lease.durationMs,
      announcer_lease_renew_deadline_ms: lease.renewDeadlineMs,
      announcer_lease_retry_period_ms: lease.retryPeriodMs,
    },
  });
  t.true(r.ok);
  t.deepEqual(
    r.recap.map((x) => [x.host, x.changed]),
    lab.nodes.map((n) => [n.name, 0]),
  );
  t.false(
    r.records.some((x) => x.task.startsWith('restart')),
    'no handler ran',
  );
});

test.serial('bad configuration is refused with the field and the file named', async (t) => {
  const r = await netns.exec(lab, 'node01', [
    'sh',
    '-c',
    `printf 'node: x\\nstore: {etcd: [nope]}\\nmanifests: []\\nlease: {durationMs: 500, renewDeadlineMs: 900}\\n' > /tmp/bad.yaml; node ` +
      `${repo}/scripts/run.mjs agent --config /tmp/bad.yaml`,
  ]);
  t.is(r.exitCode, 2);
  t.regex(r.stderr, /bad configuration: \/tmp\/bad.yaml: store.etcd\[0\]: an etcd client URL/);
  t.regex(r.stderr, /manifests: /);
  t.regex(r.stderr, /lease.renewDeadlineMs: must be below lease.durationMs/);
});

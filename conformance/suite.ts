// The conformance run: lab up (or the running one), subject installed, checks in order, report.
import { execa } from 'execa';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { allocate, poolSpans, serviceKey } from '../agent/ipam.ts';
import { parseManifests } from '../agent/manifests.ts';
import { repoRoot } from '../lab/paths.ts';
import { matches } from '../lab/selector.ts';
import { silentProgress } from '../lab/progress.ts';
import { getProvider } from '../lab/providers/index.ts';
import type { Provider } from '../lab/provider.ts';
import type { Lab } from '../lab/types.ts';
import { render, renderDeep } from '../playbooks/expr.ts';
import { inventoryFromStatus } from '../playbooks/inventory.ts';
import { findPlaybook, loadPlaybook } from '../playbooks/playbook.ts';
import { runPlaybook } from '../playbooks/runner.ts';
import { writeJson, writeJunit, writeSummary } from '../reports/write.ts';
import type { SuiteOptions } from './check.ts';
import { checks } from './checks/index.ts';
import { Context, type Progress, type Vip } from './context.ts';
import type { CheckResult, FaultName, RunResults } from './model.ts';
import { loadSubject, type Lease, type Subject } from './subject.ts';

export interface SuiteRequest {
  lab: Lab;
  subject: string;
  trials: number;
  faults: FaultName[];
  only?: string[];
  skip?: string[];
  probeIntervalMs: number;
  lease?: Partial<Lease>;
  outDir?: string;
  progress: Progress;
}

export class SuiteError extends Error {}

/** Single-quotes for the service file's shell fragment. */
const shq = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;

export function checkIds(): string[] {
  return checks.map((c) => c.id);
}

async function subjectVersion(s: Subject, lab: Lab, provider: Provider): Promise<string> {
  if (typeof s.version === 'string') return s.version;
  const line = String(render(s.version.command, { repo: repoRoot }));
  if (s.version.on === 'control-plane') {
    const cp = lab.nodes.find((n) => n.role === 'control-plane')!;
    const r = await provider.exec(lab, cp.name, ['sh', '-c', line]);
    return r.stdout.trim().split('\n')[0] || 'unknown';
  }
  const r = await execa('sh', ['-c', line], { reject: false });
  return r.stdout.trim().split('\n')[0] || 'unknown';
}

/** Kubernetes on the control plane, with the cluster admin's kubeconfig. */
export async function kubectl(lab: Lab, args: string[], provider: Provider): Promise<string> {
  const cp = lab.nodes.find((n) => n.role === 'control-plane')!;
  const r = await provider.exec(lab, cp.name, ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', ...args]);
  if (r.exitCode !== 0) throw new SuiteError(`kubectl ${args.join(' ')} on ${cp.name} failed: ${(r.stderr || r.stdout).trim()} (is the cluster up? npm run cluster -- up --lab ${lab.file})`);
  return r.stdout;
}

/** The VIPs the subject announces, from where the subject keeps them. */
async function findVips(req: SuiteRequest, s: Subject, provider: Provider): Promise<Vip[]> {
  const lab = req.lab;
  const labels = { ippool: 'l2announced' }; // the tutorial's Gateway `central` (spec.infrastructure.labels)
  if (s.addresses === 'etcd-ipam') {
    const cp = lab.nodes.find((n) => n.role === 'control-plane')!;
    const ep = `http://${cp.interfaces.find((i) => i.name === 'eth0')!.ipv4}:2379`;
    const r = await provider.exec(lab, cp.name, ['sh', '-c', `ETCDCTL_API=3 etcdctl --endpoints ${ep} get --prefix /l2lab/ipam/ && echo ---- && cat /etc/l2lab/announcer/manifests.yaml`]);
    if (r.exitCode !== 0) throw new SuiteError(`cannot read the agreed addresses from etcd on ${cp.name}: ${r.stderr.trim()}`);
    const [kv, manifests] = r.stdout.split('\n----\n');
    const svcLabels = new Map(parseManifests(manifests ?? '', 'manifests.yaml').services.map((x) => [serviceKey(x), x.labels]));
    const lines = kv!.trim().split('\n').filter(Boolean);
    const vips: Vip[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const service = lines[i]!.slice('/l2lab/ipam/'.length);
      const a = JSON.parse(lines[i + 1]!) as { ipv4?: string; ipv6?: string };
      vips.push({ service, labels: svcLabels.get(service) ?? {}, ipv4: a.ipv4, ipv6: a.ipv6 });
    }
    vips.sort((a, b) => (a.service === 'kube-system/cilium-gateway-central' ? -1 : b.service === 'kube-system/cilium-gateway-central' ? 1 : a.service.localeCompare(b.service)));
    if (!vips.length) throw new SuiteError('the subject recorded no addresses in etcd (is it running?)');
    return vips;
  }
  if (s.addresses === 'gateway-status') {
    // The tutorial's Gateway: its addresses as Cilium's IPAM assigned them, and its service's labels.
    const gw = JSON.parse(await kubectl(lab, ['-n', 'kube-system', 'get', 'gateway', 'central', '-o', 'json'], provider)) as
      { status?: { addresses?: { value: string }[] }; spec?: { infrastructure?: { labels?: Record<string, string> } } };
    const addrs = (gw.status?.addresses ?? []).map((x) => x.value);
    if (!addrs.length) throw new SuiteError('Gateway kube-system/central has no address yet (status.addresses is empty): is it PROGRAMMED? (kubectl -n kube-system get gateway central)');
    return [{ service: 'kube-system/cilium-gateway-central', labels: gw.spec?.infrastructure?.labels ?? labels, ipv4: addrs.find((x) => !x.includes(':')), ipv6: addrs.find((x) => x.includes(':')) }];
  }
  const pool = { name: lab.pool.name, blocks: lab.pool.blocks, serviceSelector: lab.pool.serviceSelector, allowFirstLastIPs: false, disabled: false };
  const a = allocate([pool], [{ namespace: 'kube-system', name: 'cilium-gateway-central', labels, loadBalancer: true, externalIPs: [] }], {});
  const g = a['kube-system/cilium-gateway-central'];
  if (!g) throw new SuiteError(`pool ${pool.name} has no address for the Gateway's service`);
  return [{ service: 'kube-system/cilium-gateway-central', labels, ipv4: g.ipv4, ipv6: g.ipv6 }];
}

/** IPv4 addresses the lab's pool can hand out. */
export function poolSize(lab: Lab): number {
  return poolSpans({ name: lab.pool.name, blocks: lab.pool.blocks, allowFirstLastIPs: false, disabled: false })
    .filter((s) => s.family === 4).reduce((n, s) => n + Number(s.last - s.first + 1n), 0);
}

export async function runSuite(req: SuiteRequest): Promise<{ results: RunResults; dir: string }> {
  const started = new Date();
  const provider = getProvider(req.lab.provider);
  const subject = loadSubject(req.subject, req.lab.lease, req.lease, provider.timingSlackMs?.(req.lab));
  for (const id of [...(req.only ?? []), ...(req.skip ?? [])])
    if (!checkIds().includes(id)) throw new SuiteError(`unknown check "${id}"; checks: ${checkIds().join(', ')}`);

  // Bundles first: a prober that compiles itself on its first start would miss the fault's start.
  await execa('node', [join(repoRoot, 'scripts', 'run.mjs'), 'build']);
  req.progress(`lab ${req.lab.name}: bringing it up (or using the running one)`);
  await provider.up(req.lab, silentProgress);
  const version = await subjectVersion(subject, req.lab, provider);
  const stamp = started.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const dir = req.outDir ?? join(repoRoot, 'reports', `${stamp}-${subject.name}-${version.replace(/[^A-Za-z0-9._-]/g, '_')}`);

  // One announcer at a time: stop every service l2lab defined on the nodes but sshd and the store;
  // the subject's install starts its own again, where it belongs.
  await Promise.all(req.lab.nodes.map((n) => provider.exec(req.lab, n.name, ['sh', '-c',
    // Services that only name a process others supervise (MATCH=, e.g. cilium-agent under the kubelet) are left alone.
    `for f in /etc/l2lab/services/*.service; do s=$(basename "$f" .service); case "$s" in sshd|etcd) continue;; esac; grep -q '^MATCH=' "$f" && continue; ` +
    '/etc/l2lab/bin/l2l-service stop "$s"; /etc/l2lab/bin/l2l-service disable "$s"; done >/dev/null 2>&1; true'])));
  const planned = subject.addresses === 'pool-first' ? await findVips(req, subject, provider) : [];
  if (subject.install) {
    req.progress(`subject ${subject.name} ${version}: installing with playbook ${subject.install.playbook}`);
    // The scale check needs 50 VIPs: 49 services beside the Gateway, where the pool has room.
    const wantScale = (!req.only?.length || req.only.includes('scale')) && !req.skip?.includes('scale') && poolSize(req.lab) >= 50;
    const vars = renderDeep(subject.install.vars, { lease: subject.lease ?? {}, repo: repoRoot, vips: planned, extra_services: wantScale ? 49 : 0 }) as Record<string, unknown>;
    const pbFile = subject.install.playbook.includes('/') ? join(dirname(subject.file), subject.install.playbook) : findPlaybook(subject.install.playbook);
    const inv = inventoryFromStatus(await provider.status(req.lab, { probe: false }));
    const lines: string[] = [];
    const r = await runPlaybook(loadPlaybook(pbFile), inv, { extraVars: vars, out: { write: (l) => lines.push(l) } });
    if (!r.ok) throw new SuiteError(`installing ${subject.name} failed:\n${lines.filter((l) => /fatal|FAILED|UNREACHABLE/.test(l)).join('\n')}`);
  }
  if (subject.run) {
    // A plain command line: the suite makes it the subject's node service and starts it (l2l-service: start/stop/pause).
    const nodes = subject.runOn === 'all' ? req.lab.nodes : req.lab.nodes.filter((n) => matches(req.lab.policy.nodeSelector, n.labels));
    req.progress(`subject ${subject.name} ${version}: starting "${subject.run}" on ${nodes.map((n) => n.name).join(', ')}`);
    for (const n of nodes) {
      const line = String(render(subject.run, { node: n.name, repo: repoRoot, vips: planned }));
      const def = `EXEC=${shq(line)}\nENABLED=yes\n`;
      const r = await provider.exec(req.lab, n.name, ['sh', '-c', `cat > /etc/l2lab/services/${subject.service}.service && /etc/l2lab/bin/l2l-service restart ${subject.service}`], { input: def });
      if (r.exitCode !== 0) throw new SuiteError(`starting ${subject.name} on ${n.name} failed: ${(r.stderr || r.stdout).trim()}`);
    }
  }
  const vips = planned.length ? planned : await findVips(req, subject, provider);
  req.progress(`VIPs: ${vips.map((v) => `${v.service} ${[v.ipv4, v.ipv6].filter(Boolean).join(' ')}`).join('; ')}`);

  const ctx = new Context(req.lab, provider, subject, vips, dir, req.probeIntervalMs, req.progress);
  // A subject that has just started (slow on emulated VMs) answers before any check judges it.
  req.progress(`waiting for ${subject.name} to answer for ${vips[0]!.ipv4 ?? vips[0]!.ipv6}`);
  if (!(await ctx.anyAnswer(120_000))) req.progress('nobody answers yet; the checks will say what they see');
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) { req.progress('still undoing faults; the lab is being put back'); return; } // a second Ctrl-C must not leave a fault behind
    interrupted = true;
    req.progress('interrupted: undoing faults');
    ctx.interrupt();
    void ctx.undoAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const results: CheckResult[] = [];
  const opts: SuiteOptions = { trials: req.trials, faults: req.faults, results };
  try {
    for (const c of checks) {
      if (req.only?.length && !req.only.includes(c.id)) continue;
      if (req.skip?.includes(c.id)) continue;
      const t0 = Date.now();
      const base = { id: c.id, title: c.title, description: c.description, details: [] as string[], figures: {}, trials: [] };
      const missing = c.features.filter((f) => !subject.has(f));
      if (missing.length) {
        results.push({ ...base, status: 'skipped', reason: `not supported: subject ${subject.name} does not claim ${missing.join(', ')}`, durationMs: 0 });
        req.progress(`${c.id}: skipped (not supported: ${missing.join(', ')})`);
        continue;
      }
      req.progress(`${c.id}: ${c.title}`);
      try {
        const o = await c.run(ctx, opts);
        results.push({ ...base, status: o.status, reason: o.reason, details: o.details ?? [], figures: o.figures ?? {}, trials: o.trials ?? [], durationMs: Date.now() - t0 });
      } catch (e) {
        await ctx.undoAll();
        results.push({ ...base, status: 'failed', reason: `error: ${(e as Error).message}`, durationMs: Date.now() - t0 });
      }
      const last = results.at(-1)!;
      req.progress(`${c.id}: ${last.status}${last.reason ? ` — ${last.reason}` : ''}`);
    }
  } finally {
    await ctx.undoAll();
    await provider.close?.();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const commit = await execa('git', ['-C', repoRoot, 'describe', '--always', '--dirty'], { reject: false });
  const out: RunResults = {
    schema: 'l2lab.conformance/v1', startedAt: started.toISOString(), finishedAt: new Date().toISOString(),
    subject: { name: subject.name, version, description: subject.description, features: subject.features, lease: subject.lease },
    lab: { name: req.lab.name, provider: req.lab.provider, file: req.lab.file, nodes: req.lab.nodes.map((n) => ({ name: n.name, mac: ctx.switchMac(n), eligible: ctx.eligible.includes(n) })) },
    environment: { kernel: release(), node: process.version, l2labCommit: commit.stdout.trim() || 'unknown' },
    probeIntervalMs: req.probeIntervalMs, vips, checks: results,
    summary: { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), info: count('info') },
  };
  writeJson(dir, out);
  writeJunit(dir, out);
  writeSummary(dir, out);
  return { results: out, dir };
}

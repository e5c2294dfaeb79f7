// The conformance run: lab up (or the running one), subject installed, checks in order, report.
// The caller (the CLI) builds the bundles and owns the signals: it aborts `signal` on Ctrl-C.

import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { controlPlane, switchNic } from '../lab/hosts.ts';
import { labUp } from '../lab/lifecycle.ts';
import { dataPaths, repoRoot } from '../lab/paths.ts';
import { silentProgress } from '../lab/progress.ts';
import type { Provider } from '../lab/provider.ts';
import { getProvider } from '../lab/providers/index.ts';
import { shq } from '../lab/quote.ts';
import { matches } from '../lab/selector.ts';
import type { Lab } from '../lab/types.ts';
import { UsageError } from '../lab/validation.ts';
import { render, renderDeep } from '../playbooks/expr.ts';
import { inventoryFromStatus } from '../playbooks/inventory.ts';
import { findPlaybook, loadPlaybook } from '../playbooks/playbook.ts';
import { runPlaybook } from '../playbooks/runner.ts';
import { slowestTasks } from '../playbooks/task.ts';
import { utcStamp } from '../results/folder.ts';
import { type AddressSource, addressSource, mergeShared, type Vip } from './addresses/index.ts';
import { type Check, isSelected } from './check.ts';
import { runChecks } from './check-runner.ts';
import { checks } from './checks/index.ts';
import { answerTimeoutOf, Context, type Progress } from './context.ts';
import { InterruptedError } from './fault-session.ts';
import { knownIssues, withKnownIssues } from './known-issues.ts';
import { onKubernetes } from './kubectl.ts';
import type { FaultName, RunResults } from './model.ts';
import { inPool } from './pool.ts';
import { proberSources, probeTimingProblem } from './prober.ts';
import { type Lease, loadSubject, type Subject } from './subject.ts';

export interface SuiteRequest {
  lab: Lab;
  subject: string;
  trials: number;
  faults: FaultName[];
  only?: string[];
  skip?: string[];
  /** Default: the provider's (20 ms; 50 ms on emulated VMs). */
  probeIntervalMs?: number;
  lease?: Partial<Lease>;
  outDir?: string;
  progress: Progress;
  /** switch-outage: how long the switch stays dark (ms); by default from the subject's lease. */
  switchDownMs?: number;
  /** store-outage: how long the lease store stays down (ms). */
  storeDownMs?: number;
  curve?: { vips?: number[]; limits?: string[] };
  /** failover: how long the first trial of each fault watches the new holder (ms); default the lease duration. */
  stabilityMs?: number;
  /** Aborted (Ctrl-C): no new fault starts, the one in force is undone, runSuite throws InterruptedError. */
  signal?: AbortSignal;
  /** The subject already runs on the machines (as its file's `install: none`): nothing is installed, stopped or removed. */
  installed?: boolean;
}

export class SuiteError extends Error {}

export function checkIds(): string[] {
  return checks.map((c) => c.id);
}

/** --only and --skip name checks that exist: the first that does not, as bad input naming the flag. */
export function checkSelection(sel: { only?: string[]; skip?: string[] }): void {
  const known = checkIds();
  for (const flag of ['only', 'skip'] as const)
    for (const id of sel[flag] ?? [])
      if (!known.includes(id)) throw new UsageError(`--${flag}: unknown check "${id}"; checks: ${known.join(', ')}`);
}

/** Services l2lab's lab itself needs on the nodes; every other one belongs to some subject. */
const LAB_SERVICES = ['sshd', 'etcd'];

export async function subjectVersion(s: Subject, lab: Lab, provider: Provider): Promise<string> {
  if (typeof s.version === 'string') return s.version;
  if (s.version.on === 'kubernetes') {
    const command = s.version.command;
    const r = await onKubernetes(lab, provider, (kubectl) => String(render(command, { kubectl })));
    return r.stdout.trim().split('\n')[0] || 'unknown';
  }
  const line = String(render(s.version.command, { repo: repoRoot }));
  if (s.version.on === 'control-plane') {
    const r = await provider.exec(lab, controlPlane(lab).name, ['sh', '-c', line]);
    return r.stdout.trim().split('\n')[0] || 'unknown';
  }
  const r = await execa('sh', ['-c', line], { reject: false });
  return r.stdout.trim().split('\n')[0] || 'unknown';
}

/**
 * The subject's install playbook and its variables for these VIPs (undefined: it installs none);
 * `setup` holds what the checks set up beside the subject (Check.setup: variable → value).
 */
export function installPlan(
  subject: Subject,
  vips: Pick<Vip, 'service' | 'ipv4' | 'ipv6'>[],
  setup: Record<string, unknown> = offSetup(),
): { file: string; vars: Record<string, unknown> } | undefined {
  if (!subject.install) return undefined;
  const vars = renderDeep(subject.install.vars, {
    curve: {}, // scale-curve's reinstalls set it: services and addresses to add, the client limit
    ...setup,
    lease: subject.lease ?? {},
    repo: repoRoot,
    vips,
  }) as Record<string, unknown>;
  const file = subject.install.playbook.includes('/')
    ? join(dirname(subject.file), subject.install.playbook)
    : findPlaybook(subject.install.playbook);
  return { file, vars };
}

/** Every check's setup variable at its `off` value: a subject file may name them all. */
export function offSetup(): Record<string, unknown> {
  return Object.fromEntries(checks.flatMap((c) => (c.setup ? [[c.setup.variable, c.setup.off]] : [])));
}

/** The checks this run sets up: selected, their features claimed by the subject, room for them in the lab. */
export function setupChecks(subject: Subject, lab: Lab, selected: (id: string) => boolean): Check[] {
  return checks.filter(
    (c) => c.setup && selected(c.id) && c.features.every((f) => subject.has(f)) && (c.setup.fits?.(lab) ?? true),
  );
}

async function install(
  req: SuiteRequest,
  subject: Subject,
  provider: Provider,
  version: string,
  planned: Vip[],
  source: AddressSource,
): Promise<((vars: Record<string, unknown>) => Promise<Vip[]>) | undefined> {
  let again: ((vars: Record<string, unknown>) => Promise<Vip[]>) | undefined;
  if (subject.install) {
    req.progress(`subject ${subject.name} ${version}: installing with playbook ${subject.install.playbook}`);
    const selected = (id: string) => checks.some((c) => c.id === id && isSelected(c, req.only, req.skip));
    const setups = setupChecks(subject, req.lab, selected);
    let chosenMain: Vip | undefined;
    const play = async (main?: Vip, changed: Record<string, unknown> = {}) => {
      const setup = offSetup();
      for (const c of setups) setup[c.setup!.variable] = c.setup!.value(req.lab, main);
      Object.assign(setup, changed);
      const { file, vars } = installPlan(subject, planned, setup)!;
      const inv = inventoryFromStatus(await provider.status(req.lab, { probe: false }));
      const lines: string[] = [];
      const t0 = Date.now();
      const r = await runPlaybook(loadPlaybook(file), inv, { extraVars: vars, out: { write: (l) => lines.push(l) } });
      if (!r.ok) {
        const bad = lines.filter((l) => /fatal|FAILED|UNREACHABLE/.test(l));
        // No task said why (a wait that ran out, an interrupted run): the playbook's last words.
        throw new SuiteError(`installing ${subject.name} failed:\n${(bad.length ? bad : lines.slice(-8)).join('\n')}`);
      }
      const took = ((Date.now() - t0) / 1000).toFixed(0);
      req.progress(
        `subject ${subject.name}: installed in ${took} s; slowest: ${slowestTasks(r.records, 3).join(', ')}`,
      );
    };
    if (planned[0] || !setups.some((c) => c.setup!.needsMain)) await play((chosenMain = planned[0]));
    else {
      // The main VIP's address is the subject's to choose: install, read it back, install again
      // with what the checks set up around it.
      await play();
      const [main] = await source.find(req.lab, provider);
      req.progress(
        `subject ${subject.name}: setting up ${setups.map((c) => c.id).join(', ')} around ${main!.ipv4 ?? main!.ipv6}`,
      );
      await play((chosenMain = main));
    }
    again = async (vars) => {
      await play(chosenMain, vars);
      return mergeShared(planned.length ? planned : await source.find(req.lab, provider));
    };
    for (const c of setups)
      await c.setup!.afterInstall?.({
        lab: req.lab,
        provider,
        progress: (m: string) => req.progress(`subject ${subject.name}: ${c.id}: ${m}`),
      });
  }
  if (subject.run) {
    // A plain command line: the suite makes it the subject's node service and starts it (l2l-service: start/stop/pause).
    const nodes =
      subject.runOn === 'all'
        ? req.lab.nodes
        : req.lab.nodes.filter((n) => matches(req.lab.policy.nodeSelector, n.labels));
    req.progress(
      `subject ${subject.name} ${version}: starting "${subject.run}" on ${nodes.map((n) => n.name).join(', ')}`,
    );
    for (const n of nodes) {
      const line = String(render(subject.run, { node: n.name, repo: repoRoot, vips: planned }));
      const def = `EXEC=${shq(line)}\nENABLED=yes\n`;
      const r = await provider.exec(
        req.lab,
        n.name,
        [
          'sh',
          '-c',
          `cat > /etc/l2lab/services/${subject.service}.service && /etc/l2lab/bin/l2l-service restart ${subject.service}`,
        ],
        { input: def },
      );
      if (r.exitCode !== 0)
        throw new SuiteError(`starting ${subject.name} on ${n.name} failed: ${(r.stderr || r.stdout).trim()}`);
    }
  }
  return again;
}

/**
 * A subject killed or stopped without cleaning up (vip-manager on SIGTERM, anything on SIGKILL)
 * leaves its VIPs on a node's switch NIC, where the kernel answers for them: the next subject
 * would inherit a second responder. Pool addresses are never the lab's own, so they go, and so
 * do the subjects' own links on nodes (l2l…: FRR's macvlans with the virtual MACs).
 */
async function removeLeftoverVips(lab: Lab, provider: Provider): Promise<void> {
  await Promise.all(
    lab.nodes.map(async (n) => {
      // (`ip -j link show type macvlan` prints {} for every other link on Debian 12's iproute2.)
      const own = await provider.exec(lab, n.name, ['ip', '-j', '-d', 'link', 'show']);
      for (const l of JSON.parse(own.stdout || '[]') as { ifname?: string; linkinfo?: { info_kind?: string } }[])
        if (l.linkinfo?.info_kind === 'macvlan' && l.ifname?.startsWith('l2l'))
          await provider.exec(lab, n.name, ['ip', 'link', 'del', l.ifname]);
      const nic = switchNic(n).name;
      const r = await provider.exec(lab, n.name, ['ip', '-j', 'addr', 'show', 'dev', nic]);
      const links = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
      for (const a of links.flatMap((l) => l.addr_info ?? []).filter((a) => inPool(lab, a.local)))
        await provider.exec(lab, n.name, ['ip', 'addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', nic]);
    }),
  );
}

/** A known issue names a check that exists (the subject file's, or Cilium's version table's). */
function checkKnownIssues(subject: Subject): void {
  const named = knownIssues(subject, '0.0.0'); // a version before every fix: every defect of a table
  const wrong = [...named.keys()].filter((id) => !checks.some((c) => c.id === id));
  if (wrong.length)
    throw new UsageError(
      `${subject.file}: known: unknown check ${wrong.join(', ')}; checks: ${checks.map((c) => c.id).join(', ')}`,
    );
}

/** l2lab installs nothing on machines it did not build: the subject must run there already. */
export function refuseInstall(lab: Lab, provider: Provider, subject: Subject, preinstalled: boolean): void {
  if (!preinstalled && !provider.capabilities.builtByL2lab)
    throw new UsageError(
      `lab ${lab.name}'s machines were not built by l2lab, which installs nothing on them: ${subject.name} must already ` +
        'run there; pass --installed (or give its subject file install: none)',
    );
}

export async function runSuite(req: SuiteRequest): Promise<{ results: RunResults; dir: string }> {
  const started = new Date();
  const provider = getProvider(req.lab.provider);
  const subject = loadSubject(req.subject, req.lab.lease, req.lease, provider.timingSlackMs?.(req.lab));
  checkSelection(req); // before anything is brought up
  checkKnownIssues(subject);
  const source = addressSource(subject.addresses);
  const probeIntervalMs = req.probeIntervalMs ?? provider.probeIntervalMs?.(req.lab) ?? 20;
  const timing = probeTimingProblem(probeIntervalMs, answerTimeoutOf(subject), proberSources(req.lab));
  if (timing) throw new UsageError(timing); // before anything is brought up or installed
  const preinstalled = !!req.installed || subject.preinstalled;
  refuseInstall(req.lab, provider, subject, preinstalled);

  req.progress(`lab ${req.lab.name}: bringing it up (or using the running one)`);
  await labUp(req.lab, silentProgress, provider);
  const version = await subjectVersion(subject, req.lab, provider);
  const known = knownIssues(subject, version);
  const stamp = utcStamp(started);
  const dir =
    req.outDir ??
    join(dataPaths().runs, `${stamp}-${subject.name.replace(':', '-')}-${version.replace(/[^A-Za-z0-9._-]/g, '_')}`);

  const planned = source.when === 'before-install' ? await source.find(req.lab, provider) : [];
  let reinstall: ((vars: Record<string, unknown>) => Promise<Vip[]>) | undefined;
  if (preinstalled) req.progress(`subject ${subject.name} ${version}: already running (l2lab installs nothing)`);
  else {
    // One announcer at a time: the subject's install starts its own again, where it belongs.
    await Promise.all(
      req.lab.nodes.map((n) =>
        provider.exec(req.lab, n.name, ['/etc/l2lab/bin/l2l-service', 'stop-others', ...LAB_SERVICES]),
      ),
    );
    await removeLeftoverVips(req.lab, provider);
    reinstall = await install(req, subject, provider, version, planned, source);
  }
  const found = mergeShared(planned.length ? planned : await source.find(req.lab, provider));
  const show = (vs: Vip[]) => vs.map((v) => `${v.service} ${[v.ipv4, v.ipv6].filter(Boolean).join(' ')}`).join('; ');
  // The lab switch's VIPs go to every check; other domains' only to domain-isolation.
  const vips = found.filter((v) => !v.domain);
  const domainVips = found.filter((v) => v.domain);
  req.progress(`VIPs: ${show(vips)}${domainVips.length ? `; in other L2 domains: ${show(domainVips)}` : ''}`);

  const ctx = new Context(
    req.lab,
    provider,
    subject,
    vips,
    dir,
    probeIntervalMs,
    req.progress,
    domainVips,
    preinstalled,
  );
  ctx.reinstall = reinstall;
  const onAbort = () => {
    req.progress('interrupted: undoing faults');
    ctx.interrupt();
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  let results;
  try {
    // A subject that has just started (slow on emulated VMs) answers before any check judges it.
    req.progress(
      `waiting for ${subject.name} to answer for ${[vips[0]!.ipv4, vips[0]!.ipv6].filter(Boolean).join(' and ')}`,
    );
    if (!(await ctx.anyAnswer(120_000)))
      req.progress('not every address answers yet; the checks will say what they see');
    else {
      const quietMs = subject.budgetMs('power-off');
      req.progress(`waiting for the election to settle: one node answering alone for ${quietMs} ms`);
      if (!(await ctx.settled(quietMs)))
        req.progress('no single node kept answering; the checks will say what they see');
    }
    const chosen = checks.filter((c) => isSelected(c, req.only, req.skip));
    results = await runChecks(ctx, chosen, {
      trials: req.trials,
      faults: req.faults,
      results: [],
      switchDownMs: req.switchDownMs,
      storeDownMs: req.storeDownMs,
      curve: req.curve,
      stabilityMs: req.stabilityMs,
    });
  } finally {
    await ctx.faults.undoAll();
    await provider.close?.();
    req.signal?.removeEventListener('abort', onAbort);
  }
  if (ctx.faults.isInterrupted) throw new InterruptedError();
  results = withKnownIssues(results, known);
  const count = (s: RunResults['checks'][number]['status']) => results.filter((r) => r.status === s).length;
  const commit = await execa('git', ['-C', repoRoot, 'describe', '--always', '--dirty'], { reject: false });
  const out: RunResults = {
    schema: 'l2lab.conformance/v1',
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    subject: {
      name: subject.name,
      version,
      description: subject.description,
      features: subject.features,
      lease: subject.lease,
    },
    lab: {
      name: req.lab.name,
      provider: req.lab.provider,
      file: req.lab.file,
      nodes: req.lab.nodes.map((n) => ({ name: n.name, mac: ctx.switchMac(n), eligible: ctx.eligible.includes(n) })),
      client: { name: req.lab.client.name, mac: ctx.switchMac(req.lab.client), proberMac: ctx.prober.observer.mac },
    },
    environment: { kernel: release(), node: process.version, l2labCommit: commit.stdout.trim() || 'unknown' },
    probeIntervalMs,
    vips: found,
    checks: results,
    summary: {
      passed: count('passed'),
      failed: count('failed'),
      skipped: count('skipped'),
      info: count('info'),
      errors: count('error'),
    },
  };
  return { results: out, dir };
}

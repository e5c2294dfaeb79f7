// Shared test helpers: throw-away labs derived from the default lab file, and host snapshots.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { buildBundles } from '../conformance/bundles.ts';
import type { CheckResult, FaultName, RunResults } from '../conformance/model.ts';
import { runSuite } from '../conformance/suite.ts';
import { run } from '../lab/command.ts';
import { derivedLabFile, type RawLabFile } from '../lab/derive.ts';
import { alive } from '../lab/files.ts';
import { loadLab } from '../lab/labfile.ts';
import { labDown } from '../lab/lifecycle.ts';
import { silentProgress } from '../lab/progress.ts';
import { getProvider } from '../lab/providers/index.ts';
import type { Lab } from '../lab/types.ts';

export const repo = new URL('..', import.meta.url).pathname;

/** The l2lab command as users run it: bin/l2lab.mjs, from its bundle. */
export const L2LAB = join(repo, 'bin', 'l2lab.mjs');
export const l2lab = (args: string[], env: Record<string, string> = {}) =>
  execa('node', [L2LAB, ...args], { cwd: repo, reject: false, env: { CI: 'true', ...env } });

/** A copy of the default lab with its own name and management subnet, so test files can run side by side. */
export const labFile = derivedLabFile;

export function testLab(name: string, mgmtThirdOctet: number, edit?: (doc: RawLabFile) => void): Lab {
  return loadLab(labFile(name, mgmtThirdOctet, edit));
}

export const netns = getProvider('netns');
export const quiet = silentProgress;

/** A broken subject of the suite's own (test/fixtures/subjects). */
export const fixture = (name: string): string => join(repo, 'test', 'fixtures', 'subjects', `${name}.yaml`);

/** Leases of 1 / 0.5 / 0.2 s: a failover within about a second. */
export const FAST_LEASE = { durationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 200 };

/** One conformance run on a test lab: fast leases, 20 ms probes, one trial per fault; captures in a fresh folder, nothing written. */
export async function quickSuite(
  lab: Lab,
  subject: string,
  only: string[],
  faults: FaultName[] = ['power-off'],
): Promise<RunResults> {
  const { results } = await runSuite({
    lab,
    subject,
    trials: 1,
    faults,
    only,
    probeIntervalMs: 20,
    lease: FAST_LEASE,
    progress: () => {},
    outDir: mkdtempSync(join(tmpdir(), 'l2l-report-')),
  });
  return results;
}

/** One check alone on a test lab (quickSuite), its details in the test's log: the check's result. */
export async function oneCheck(t: ExecutionContext, lab: Lab, subject: string, id: string): Promise<CheckResult> {
  const c = (await quickSuite(lab, subject, [id])).checks.find((x) => x.id === id)!;
  t.log(c.details.join('\n'));
  return c;
}

/** What a lab leaves on the host: namespaces, links, mounts, running processes, state. */
export async function hostSnapshot(
  lab: string,
): Promise<{ namespaces: string[]; links: string[]; mounts: string[]; processes: string[]; state: boolean }> {
  const p = `l2l-${lab}-`;
  const namespaces = (await run(['ip', 'netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(p));
  const links = (await run(['ip', '-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
    .filter((n) => n.startsWith(p));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(p) || l.includes(`/l2l-${lab}/`));
  const ps = await run(['ps', '-eo', 'pid=,stat=,args=']);
  const processes = ps.stdout
    .split('\n')
    .filter((l) => (l.includes(p) || l.includes(`/l2l-${lab}/`)) && !/^\s*\d+\s+Z/.test(l) && !l.includes('ps -eo'));
  return { namespaces, links, mounts, processes, state: existsSync(`/var/lib/l2l-${lab}`) };
}

/** PIDs of every process inside the lab's namespaces. */
export async function labPids(lab: string): Promise<number[]> {
  const { namespaces } = await hostSnapshot(lab);
  const out = await Promise.all(namespaces.map((ns) => run(['ip', 'netns', 'pids', ns])));
  return out.flatMap((o) => o.stdout.split(/\s+/).filter(Boolean).map(Number));
}

/** Running (not gone, not a zombie waiting for this host's PID 1 to reap it). */
export const running = alive;

export async function clientCan(lab: Lab, argv: string[]): Promise<boolean> {
  return (await netns.exec(lab, lab.client.name, argv, { timeoutMs: 5000 })).exitCode === 0;
}

export const arping = (lab: Lab, ip: string) =>
  clientCan(lab, ['arping', '-q', '-c', '1', '-w', '1', '-I', 'eth1', ip]);
export const ping6 = (lab: Lab, ip: string) => clientCan(lab, ['ping', '-6', '-q', '-c', '1', '-W', '1', ip]);

/** True as soon as check() is true, polling for up to ms; false if it never becomes true. */
export async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  do {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  } while (Date.now() < end);
  return false;
}

/**
 * Unit tests keep lab state under a temporary base (L2LAB_STATE_BASE), not /var/lib: no root
 * needed, nothing left on the host. Call at the top of the file; the base goes when the file ends.
 */
export function temporaryStateBase(): string {
  const base = mkdtempSync(join(tmpdir(), 'l2l-state-'));
  process.env.L2LAB_STATE_BASE = base;
  test.after.always(() => rmSync(base, { recursive: true, force: true }));
  return base;
}

/**
 * A netns lab this test file owns: the suite's bundles built and nothing of the lab left before
 * it, and nothing after (also after a failure).
 */
export function ownLab(lab: Lab): void {
  test.before(async () => {
    await buildBundles();
    await labDown(lab.name, silentProgress, netns);
  });
  test.after.always(async () => {
    await labDown(lab.name, silentProgress, netns);
  });
}

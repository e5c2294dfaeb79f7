// The conformance Context's one judgement of its own: a time over its budget is a problem on a
// real CPU (netns, VMs under KVM) and a note on a lab whose provider reports the emulation slack
// (the VM lab under qemu's TCG). Structural verdicts never go through late().
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Context } from '../../conformance/context.ts';
import { loadSubject } from '../../conformance/subject.ts';
import { NOT_JUDGED } from '../../conformance/trial.ts';
import { loadLab } from '../../lab/labfile.ts';
import { repoRoot } from '../../lab/paths.ts';
import { getProvider } from '../../lab/providers/index.ts';

function contextOn(labFile: string, t: { teardown(f: () => void): void }): Context {
  const lab = loadLab(labFile.startsWith('/') ? labFile : join(repoRoot, labFile));
  const provider = getProvider(lab.provider);
  const subject = loadSubject('reference', lab.lease, undefined, provider.timingSlackMs?.(lab));
  const dir = mkdtempSync(join(tmpdir(), 'l2l-context-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return new Context(lab, provider, subject, [], dir, provider.probeIntervalMs?.(lab) ?? 20, () => {});
}

const LATE = 'answered again after 2500 ms, budget 2200 ms';

/** What late() makes of one time over its budget on this context: problems and notes. */
function judged(ctx: Context): { problems: string[]; notes: string[] } {
  const out = { problems: [] as string[], notes: [] as string[] };
  ctx.late(out.problems, out.notes, LATE);
  return out;
}

test('late: a problem on the netns lab (a real CPU)', (t) => {
  const ctx = contextOn('lab.yaml', t);
  t.false(ctx.emulated);
  t.deepEqual(judged(ctx), { problems: [LATE], notes: [] });
});

test("late: a note on the VM lab under software emulation (the provider's own report), never a problem", (t) => {
  const ctx = contextOn('labs/vm.yaml', t);
  t.true(ctx.emulated, 'labs/vm.yaml runs qemu without KVM: the vagrant provider reports a slack');
  t.deepEqual(judged(ctx), { problems: [], notes: [`${LATE} ${NOT_JUDGED}`] });
});

test('late: a problem on VMs under KVM (no emulation: no extra slack, timing judged)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l2l-kvm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'kvm.yaml');
  const text = readFileSync(join(repoRoot, 'labs', 'vm.yaml'), 'utf8');
  t.regex(text, /^ {2}driver: qemu$/m);
  writeFileSync(file, text.replace(/^ {2}driver: qemu$/m, '  driver: kvm'));
  const ctx = contextOn(file, t);
  t.is(ctx.subject.extraSlackMs, 0, "KVM's slack is the default one");
  t.false(ctx.emulated);
  t.deepEqual(judged(ctx), { problems: [LATE], notes: [] });
});

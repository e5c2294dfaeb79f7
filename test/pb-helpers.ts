// Helpers for playbook tests: write a one-play playbook to a temp dir, run it, read results.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Inventory } from '../playbooks/inventory.ts';
import { loadPlaybook } from '../playbooks/playbook.ts';
import { type RunOptions, type RunReport, runPlaybook } from '../playbooks/runner.ts';

export interface PlayRun {
  report: RunReport;
  text: string;
  status(task: string, host: string): string[];
  changed: number;
  ok: boolean;
}

export async function play(
  inv: Inventory,
  tasks: object[],
  o: RunOptions & { hosts?: string; handlers?: object[]; vars?: object; files?: Record<string, string> } = {},
): Promise<PlayRun> {
  const dir = mkdtempSync(join(tmpdir(), 'l2l-pb-'));
  for (const [name, content] of Object.entries(o.files ?? {})) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  const file = join(dir, 'play.yaml');
  writeFileSync(
    file,
    stringify([{ name: 'test play', hosts: o.hosts ?? 'all', vars: o.vars ?? {}, tasks, handlers: o.handlers ?? [] }]),
  );
  const lines: string[] = [];
  const report = await runPlaybook(loadPlaybook(file), inv, { ...o, out: { write: (l) => lines.push(l) } });
  return {
    report,
    text: lines.join('\n'),
    status: (task, host) => report.records.filter((r) => r.task === task && r.host === host).map((r) => r.status),
    changed: report.recap.reduce((n, r) => n + r.changed, 0),
    ok: report.ok,
  };
}

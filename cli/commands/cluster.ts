// l2lab cluster render|up|upgrade (npm run cluster --): the tutorial's cluster on a VM lab.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLab } from '../../lab/find-lab.ts';
import { UsageError } from '../../lab/validation.ts';
import { renderCiliumChart, renderCluster } from '../../playbooks/cluster/render.ts';
import { type ClusterResult, ciliumSources, clusterUp } from '../../playbooks/cluster/up.ts';
import { knownCiliumVersions, withCilium } from '../../playbooks/cluster/versions.ts';
import { parseExtraVars } from '../../playbooks/extra-vars.ts';
import { EXIT, type ExitCode } from '../exit.ts';
import { playExit, playOut } from '../play.ts';

/** A Cilium version as its releases are named; the versions the table knows, as a hint. */
function ciliumVersionFlag(v: string | undefined): string | undefined {
  if (v !== undefined && !/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/.test(v))
    throw new UsageError(
      `--cilium-version: "${v}" is not a Cilium release such as 1.20.0; known here: ${knownCiliumVersions().join(', ')}`,
    );
  return v;
}

export interface ClusterOptions {
  lab?: string;
  out?: string;
  check?: boolean;
  ciliumVersion?: string;
  extraVars?: string[];
  json?: boolean;
  quiet?: boolean;
}

/** Renders and checks offline; nothing is applied. Exit 1 when the rendered files have problems. */
export async function clusterRender(o: ClusterOptions): Promise<ExitCode> {
  const vars = parseExtraVars(o.extraVars);
  ciliumVersionFlag(o.ciliumVersion);
  const lab = findLab({ lab: o.lab });
  const want = o.ciliumVersion ? withCilium(lab, o.ciliumVersion) : lab;
  const r = await renderCiliumChart(want, renderCluster(want, undefined, ciliumSources(vars)));
  // Never into the source tree unasked: a temporary folder unless --out names one.
  const out = o.out ?? mkdtempSync(join(tmpdir(), 'l2l-cluster-render-'));
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(r.files)) writeFileSync(join(out, name), text);
  if (o.json) {
    console.log(
      JSON.stringify(
        { out, files: Object.keys(r.files), notes: r.notes, problems: r.problems, transcript: r.transcript },
        null,
        2,
      ),
    );
  } else {
    console.log(`rendered ${Object.keys(r.files).length} files into ${out}/ (nothing was applied)`);
    for (const n of r.notes) console.log(`  note: ${n}`);
    for (const p of r.problems) console.log(`  PROBLEM: ${p}`);
    console.log(`\ndry run — the commands the cluster path runs:\n${r.transcript.map((l) => `  ${l}`).join('\n')}`);
  }
  return r.problems.length ? EXIT.failed : EXIT.ok;
}

export async function clusterUpCommand(o: ClusterOptions): Promise<ExitCode> {
  const vars = parseExtraVars(o.extraVars);
  ciliumVersionFlag(o.ciliumVersion);
  const lab = findLab({ lab: o.lab });
  return played(o, await clusterUp(lab, { check: o.check, ciliumVersion: o.ciliumVersion, vars, ...outOf(o) }));
}

export async function clusterUpgrade(o: ClusterOptions): Promise<ExitCode> {
  if (!ciliumVersionFlag(o.ciliumVersion)) throw new UsageError('upgrade needs --cilium-version V (such as 1.20.0)');
  const vars = parseExtraVars(o.extraVars);
  const lab = findLab({ lab: o.lab });
  const r = await clusterUp(lab, {
    check: o.check,
    ciliumVersion: o.ciliumVersion,
    tags: ['gateway-api', 'cilium'],
    vars,
    ...outOf(o),
  });
  return played(o, r);
}

const outOf = (o: ClusterOptions) => {
  const out = playOut(o);
  return out ? { out } : {};
};

/** With --json, stdout is {ok, recap, records}: the play's every task on every host, with its duration. */
function played(o: ClusterOptions, r: ClusterResult): ExitCode {
  if (o.json) console.log(JSON.stringify(r, null, 2));
  return playExit(r.recap);
}

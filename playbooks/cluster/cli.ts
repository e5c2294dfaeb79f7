// npm run cluster -- render|up|upgrade: the tutorial's cluster on a VM lab.
//   render  [--lab FILE] [--out DIR]        render and check offline, print the dry-run transcript
//   up      [--lab FILE] [--check] [--cilium-version V] [-e KEY=VALUE]…
//                                           render, make the join secrets, run playbooks/cluster.yaml
//                                           (-e: package sources behind a mirror, see the playbook's head)
//   upgrade --cilium-version V [--lab FILE] Cilium in place to another version (then rollout restarts)

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findLab } from '../../lab/find-lab.ts';
import { LabFileError } from '../../lab/labfile.ts';
import { UsageError } from '../../lab/validation.ts';
import { parseExtraVars } from '../extra-vars.ts';
import { renderCiliumChart, renderCluster } from './render.ts';
import { ClusterError, ciliumSources, clusterUp } from './up.ts';
import { withCilium } from './versions.ts';

const USAGE = `usage: npm run cluster -- render [--lab FILE] [--out DIR] [--cilium-version V] [-e KEY=VALUE]...
       npm run cluster -- up [--lab FILE] [--check] [--cilium-version V] [-e KEY=VALUE]...
       npm run cluster -- upgrade --cilium-version V [--lab FILE] [-e KEY=VALUE]...
  -e: kubernetes_apt_url, kubernetes_apt_key_url, cilium_cli_url (mirrors of pkgs.k8s.io and
      cilium-cli's releases), as in playbooks/cluster.yaml; cilium_chart_repository (a Helm
      repository, http(s):// or oci://) or cilium_chart_directory (a chart directory on the control
      plane) for Cilium's chart; cilium_image_registry (a registry holding Cilium's images under
      their upstream names)`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h') {
    console.log(USAGE);
    return 0;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        lab: { type: 'string', short: 'l' },
        out: { type: 'string', default: 'cluster-render' },
        check: { type: 'boolean', short: 'C' },
        'cilium-version': { type: 'string' },
        'extra-vars': { type: 'string', short: 'e', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\n${USAGE}`);
  }
  if (values.help || !cmd) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const vars = parseExtraVars(values['extra-vars']);
  const lab = findLab({ lab: values.lab });
  switch (cmd) {
    case 'render': {
      const want = values['cilium-version'] ? withCilium(lab, values['cilium-version']) : lab;
      const r = await renderCiliumChart(want, renderCluster(want, undefined, ciliumSources(vars)));
      mkdirSync(values.out!, { recursive: true });
      for (const [name, text] of Object.entries(r.files)) writeFileSync(join(values.out!, name), text);
      console.log(`rendered ${Object.keys(r.files).length} files into ${values.out}/ (nothing was applied)`);
      for (const n of r.notes) console.log(`  note: ${n}`);
      for (const p of r.problems) console.log(`  PROBLEM: ${p}`);
      console.log(`\ndry run — the commands the cluster path runs:\n${r.transcript.map((l) => `  ${l}`).join('\n')}`);
      return r.problems.length ? 1 : 0;
    }
    case 'up':
      return (await clusterUp(lab, { check: values.check, ciliumVersion: values['cilium-version'], vars })).ok ? 0 : 1;
    case 'upgrade':
      if (!values['cilium-version'])
        throw new UsageError(`upgrade needs --cilium-version V (such as 1.20.0)\n${USAGE}`);
      return (
        await clusterUp(lab, {
          check: values.check,
          ciliumVersion: values['cilium-version'],
          tags: ['gateway-api', 'cilium'],
          vars,
        })
      ).ok
        ? 0
        : 1;
    default:
      throw new UsageError(`unknown command "${cmd}"\n${USAGE}`);
  }
}

if (process.argv[1]?.endsWith('cluster.mjs') || process.argv[1]?.endsWith('cli.ts')) {
  main(process.argv.slice(2)).then(
    (c) => process.exit(c),
    (e: unknown) => {
      console.error(`error: ${(e as Error).message}`);
      process.exit(e instanceof UsageError || e instanceof LabFileError || e instanceof ClusterError ? 2 : 1);
    },
  );
}

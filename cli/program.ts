// The l2lab command line: every verb in one tree, one parser (commander), the same flags where
// they mean the same thing. Each action hands typed options to a function in cli/commands/ and
// returns its exit code (cli/exit.ts); the parser refuses unknown options and stray arguments.
// The verbs' code is imported when a verb runs (each bundle chunk loads its own packages): `l2lab
// --help` and the quick verbs start without the suite, the plots or SQLite.
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { checks } from '../conformance/checks/index.ts';
import { SETTINGS } from '../conformance/checks/scale-curve.ts';
import { faultPlugins, trialFaultKinds } from '../lab/faults/index.ts';
import { dataDir } from '../lab/paths.ts';
import { EXIT, type Io } from './exit.ts';
import { DEFAULT_TRIALS, faultKindsHelp, selectionKeys } from './help.ts';

const lab = () => import('./commands/lab.ts');
const report = () => import('./commands/report.ts');
const cluster = () => import('./commands/cluster.ts');

/** What an action returns: the process's exit code, set once the parse is done. */
export interface Outcome {
  code: number;
}

const collect = (v: string, all: string[]) => [...all, v];

// The flags that mean the same everywhere.
const labFile = () => new Option('-l, --lab <file>', 'the lab file (default: lab.yaml)');
const labName = () => new Option('--name <lab>', 'a lab that is up, by name (works when its file has moved)');
const json = () => new Option('--json', 'JSON on stdout for machines (the human lines go to stderr or nowhere)');
const quiet = () => new Option('-q, --quiet', 'no progress lines');
const extraVars = () =>
  new Option('-e, --extra-vars <key=value>', 'a playbook variable, repeatable').argParser(collect).default([]);

export function buildProgram(version: string, outcome: Outcome, io: Io): Command {
  const done = (p: number | Promise<number>) =>
    Promise.resolve(p).then((code) => {
      outcome.code = code;
    });
  const program = new Command('l2lab')
    .description('Build, provision and measure L2 announcement labs (Cilium L2 announcements and its peers).')
    .version(version, '-V, --version', 'the version of l2lab')
    .option('--data <dir>', 'where runs, the history and nights go (default: L2LAB_DATA, else ~/.local/share/l2lab)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .allowExcessArguments(false)
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 a check failed or a regression, 2 bad input (nothing created), 3 a harness error, ' +
        '130 interrupted.',
    );

  // --data, before or after the verb, reaches every room through the environment (lab/paths.ts).
  program.hook('preAction', () => {
    const data = program.opts<{ data?: string }>().data;
    // Refused before anything is done (and before it is set), if it is inside the checkout.
    if (data) io.env.L2LAB_DATA = process.env.L2LAB_DATA = dataDir(resolve(data));
    else if (process.env.L2LAB_DATA) dataDir();
  });

  const labCmd = program.command('lab').description('build, inspect, fault and remove labs');
  labCmd
    .command('up')
    .description('build or repair the lab (idempotent)')
    .addOption(labFile())
    .addOption(new Option('--name <lab>', 'repair a lab that is up as it was built (works when its file has moved)'))
    .addOption(json())
    .addOption(quiet())
    .action((o) => done(lab().then((m) => m.labUpCommand(o))));
  labCmd
    .command('down')
    .description('remove everything of the lab, also after a crash')
    .addOption(labFile())
    .addOption(labName())
    .addOption(json())
    .addOption(quiet())
    .action((o) => done(lab().then((m) => m.labDownCommand(o))));
  labCmd
    .command('status')
    .description("the lab's machines, addresses, sshd, active faults")
    .addOption(labFile())
    .addOption(labName())
    .addOption(json())
    .option(
      '--as-hosts',
      'write the lab as a hosts file (provider: hosts): its machines reached only as existing hosts',
    )
    .action((o) => done(lab().then((m) => m.labStatusCommand(o))));
  labCmd
    .command('ssh')
    .description('a shell on a machine of the lab, or one command after --')
    .argument('<node>', 'a node or the client')
    .argument('[command...]', 'a command to run (after --)')
    .addOption(labFile())
    .addOption(labName())
    .action((node: string, command: string[], o) => done(lab().then((m) => m.labSshCommand(node, command, o))));
  labCmd
    .command('bmc')
    .description("the lab's BMC (Redfish, as fence_redfish speaks it): starts it unless it runs, prints where it is")
    .addOption(labFile())
    .addOption(labName())
    .addOption(json())
    .addOption(new Option('--serve', 'serve it in this process (what the started one runs)').hideHelp())
    .action((o) => done(lab().then((m) => m.labBmcCommand(o))));
  labCmd
    .command('spec')
    .description('the VM spec the Vagrantfile reads (JSON; stdout without --out)')
    .addOption(labFile())
    .option('--out <file>', 'write it to this file')
    .action((o) => done(lab().then((m) => m.labSpecCommand(o))));
  const fault = labCmd
    .command('fault')
    .description('inject, undo or list faults by hand')
    .addHelpText('after', `\nFault kinds:\n${faultKindsHelp()}`);
  for (const action of ['inject', 'undo'] as const) {
    const c = fault
      .command(action)
      .description(`${action} a fault: KIND NODE [WORD…]`)
      .argument('<kind>', `one of ${faultPlugins.map((f) => f.kind).join(', ')}`)
      .argument('<node>', 'the node (or switch, or a domain)')
      .argument('[words...]', "the kind's own words (an interface, a process name)")
      .addOption(labFile())
      .addOption(labName())
      .addOption(json())
      .option('--yes', 'machines l2lab did not build: run it without asking')
      .option('--dry-run', 'print every command it would run, and run none');
    for (const f of faultPlugins)
      for (const opt of f.options ?? [])
        if (!c.options.some((x) => x.long === `--${opt.name}`))
          c.option(`--${opt.name} <value>`, `${f.kind}: ${opt.help}`);
    c.addHelpText('after', `\nFault kinds:\n${faultKindsHelp()}`).action(
      (kind: string, node: string, words: string[], o: Record<string, unknown>) =>
        done(lab().then((m) => m.labFaultCommand(action, kind, node, words, o))),
    );
  }
  fault
    .command('list')
    .description('the faults in force')
    .addOption(labFile())
    .addOption(labName())
    .addOption(json())
    .action((o) => done(lab().then((m) => m.labFaultCommand('list', undefined, undefined, [], o))));

  program
    .command('test')
    .alias('conformance')
    .description('the conformance suite: install the subject, run the checks, write the report')
    .addOption(labFile())
    .option('-s, --subject <name>', 'a built-in subject, NAME:VARIANT or a subject file (default: reference)')
    .option('--subjects <a,b,...>', 'one run per subject on the same lab, then one comparison')
    .option('--versions <a,b,...>', 'move the subject through its version axis, one report each')
    .option('--cilium-versions <a,b,...>', 'the same as --subject cilium --versions A,B,…')
    .option('--trials <n>', `trials per fault (default: ${DEFAULT_TRIALS})`)
    .option('--only <ids>', `only these checks: ${checks.map((c) => c.id).join(', ')}`)
    .option('--skip <ids>', 'all checks but these')
    .option('--faults <kinds>', `the faults of the trials: ${trialFaultKinds().join(', ')}`)
    .option('--probe-interval <ms>', "the client's probe interval (default: the provider's)")
    .option('--out <dir>', 'the report folder (one run)')
    .option('--lease-duration <ms>', "the lease's duration (lease-based subjects; default: the lab file's)")
    .option('--lease-renew-deadline <ms>', "the lease's renew deadline")
    .option('--lease-retry-period <ms>', "the lease's retry period")
    .option('--switch-down-s <s>', 'switch-outage: how long the switch stays dark')
    .option('--store-down-s <s>', 'store-outage: how long the lease store stays down')
    .option('--curve-vips <n,...>', 'scale-curve: its points, VIPs (default: 1,10,50,100,200)')
    .option(
      '--curve-limits <names>',
      `scale-curve: the client rate limits (default: ${SETTINGS.map((s) => s.name).join(',')})`,
    )
    .option('--stability-s <s>', 'failover: how long the first trial of each fault watches the new holder')
    .option('--installed', 'the subject already runs on the machines (your cluster): install, stop and remove nothing')
    .option('--yes', 'machines l2lab did not build: run the faults without asking')
    .option('--dry-run', 'print the checks, the faults and every command they would run, node by node; run nothing')
    .addOption(json())
    .addOption(quiet())
    .action((o) => done(import('./commands/test.ts').then((m) => m.testCommand(o))));

  const clusterCmd = program
    .command('cluster')
    .description("the tutorial's Kubernetes cluster with Cilium on a VM lab");
  const varsHelp =
    '\n-e: kubernetes_apt_url, kubernetes_apt_key_url, cilium_cli_url (mirrors of pkgs.k8s.io and cilium-cli), ' +
    'cilium_chart_repository or cilium_chart_directory, cilium_image_registry (playbooks/cluster.yaml says more)';
  clusterCmd.addHelpText('after', varsHelp);
  const clusterOpts = (c: Command) =>
    c
      .addOption(labFile())
      .option('--cilium-version <v>', "Cilium's version (default: the lab file's)")
      .addOption(extraVars())
      .addHelpText('after', varsHelp);
  clusterOpts(clusterCmd.command('render').description('render and check offline; print the dry-run transcript'))
    .option('--out <dir>', 'where the files go (default: a new temporary folder, printed)')
    .addOption(json())
    .action((o) => done(cluster().then((m) => m.clusterRender(o))));
  clusterOpts(clusterCmd.command('up').description('render, make the join secrets, run playbooks/cluster.yaml'))
    .option('-C, --check', 'check mode: report what would change')
    .addOption(json())
    .addOption(quiet())
    .action((o) => done(cluster().then((m) => m.clusterUpCommand(o))));
  clusterOpts(clusterCmd.command('upgrade').description('Cilium in place to another version (--cilium-version)'))
    .option('-C, --check', 'check mode')
    .addOption(json())
    .addOption(quiet())
    .action((o) => done(cluster().then((m) => m.clusterUpgrade(o))));

  const reportCmd = program.command('report').description('the run history: list, import, compare, HTML');
  reportCmd
    .command('list')
    .description('runs in the history')
    .option('--subject <s>')
    .option('--version <v>')
    .option('--lab <name>')
    .option('--since <date>')
    .option('--until <date>')
    .option('--last <n>')
    .addOption(json())
    .action((o) => done(report().then((m) => m.reportList(o))));
  reportCmd
    .command('import')
    .description('index run folders (or folders of them)')
    .argument('<dir...>')
    .action((dirs: string[]) => done(report().then((m) => m.reportImport(dirs))));
  const compareOpts = (c: Command) =>
    c
      .argument('<a>', 'a run (folder name, path or id) or a selection key=value[,key=value…]')
      .argument('<b>', 'the same, compared with a')
      .option('--alpha <p>', 'significance level (default 0.05)')
      .option('--min-trials <n>', 'fewer trials than this: no verdict (default 5)')
      .option('--min-change <percent>', 'smaller changes are not reported (default 25)')
      .option('--out <path>', 'where to write')
      .addHelpText('after', `\nselection keys: ${selectionKeys.join(', ')}`);
  compareOpts(reportCmd.command('compare').description('b against a: exit 1 when b regressed'))
    .addOption(json())
    .action((a: string, b: string, o) => done(report().then((m) => m.reportCompare(a, b, o))));
  const html = reportCmd.command('html').description('one self-contained HTML page');
  html
    .command('run', { isDefault: true })
    .description("a run's page (default: the run folder's report.html)")
    .argument('<run>', 'a run folder, or a run the history knows')
    .option('--out <file>')
    .action((run: string, o) => done(report().then((m) => m.reportHtml(run, o))));
  compareOpts(html.command('compare').description('a comparison as HTML')).action((a: string, b: string, o) =>
    done(report().then((m) => m.reportHtmlCompare(a, b, o))),
  );

  reportCmd
    .command('metrics')
    .description("a run's figures in the Prometheus text format (node_exporter's textfile collector, a Pushgateway)")
    .argument('[run]', 'a run folder, or a run the history knows')
    .option('--last', 'the newest run in the history')
    .option('--out <file>', 'write it here, replaced atomically (e.g. /var/lib/node_exporter/textfile/l2lab.prom)')
    .action((run: string | undefined, o) => done(report().then((m) => m.reportMetrics(run, o))));

  program
    .command('nightly')
    .description('a matrix of runs, compared with the night before (cron it)')
    .requiredOption('-m, --matrix <file>', 'the matrix (an example: nightly.yaml)')
    .option('--out <dir>', 'where the nights go (default: DATA/nightly)')
    .addOption(json())
    .addOption(quiet())
    .action((o) => done(import('./commands/nightly.ts').then((m) => m.nightlyCommand(o))));

  program
    .command('playbook')
    .description('run a playbook against the lab (or an inventory file)')
    .argument('<playbook>', 'a name from playbooks/ or a file')
    .addOption(labFile())
    .addOption(labName())
    .option('-i, --inventory <file>', 'an inventory file instead of a lab')
    .option('--limit <hosts>')
    .option('-t, --tags <tags>')
    .option('--skip-tags <tags>')
    .option('-C, --check', 'check mode: change nothing')
    .option('-D, --diff', 'show the differences')
    .option('-f, --forks <n>')
    .addOption(extraVars())
    .addOption(json())
    .addOption(quiet())
    .action((name: string, o) => done(import('./commands/playbook.ts').then((m) => m.playbookCommand(name, o))));

  program
    .command('box')
    .description("l2lab's Debian box for VM labs")
    .command('build')
    .description('build the box (mmdebstrap) and add it to vagrant, unless the installed one is current')
    .option('--out <file>', 'where the box goes')
    .option('--reuse-rootfs', 'keep the root file system built before')
    .option('--no-add', 'do not add it to vagrant')
    .option('--force', 'build it even when the installed box is current')
    .action((o) =>
      done(
        import('../lab/providers/vagrant/box.ts').then(async (m) => {
          const line = await m.boxBuild(o);
          console.log(line);
          return EXIT.ok;
        }),
      ),
    );

  program
    .command('version')
    .description('the version of l2lab')
    .action(() => {
      io.out(`${version}\n`);
      outcome.code = EXIT.ok;
    });

  program
    .command('completion')
    .description('a bash completion script: eval "$(l2lab completion)"')
    .action(async () => {
      const { bashCompletion } = await import('./completion.ts');
      io.out(`${bashCompletion(program)}\n`);
      outcome.code = EXIT.ok;
    });
  return program;
}

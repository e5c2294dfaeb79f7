// The l2lab command as a user meets it: every verb answers --help, bad input exits 2 naming the flag
// or field and creates nothing, npm's swallowed flags are refused, completion works. Most cases run
// cli/main.ts in this process (the same parse and exit codes, without a process start each); a few
// go through bin/l2lab.mjs as a process. The verbs' real work is driven through bin/l2lab.mjs in the
// lab tests (netns-repair, netns-lab, peers, history, nightly, playbook-engine, cluster-render).
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { DEFAULT_TRIALS } from '../../cli/help.ts';
import { main } from '../../cli/main.ts';
import { defaultSettings } from '../../reports/compare-runs.ts';
import { l2lab, repo, temporaryStateBase } from '../helpers.ts';

const state = temporaryStateBase();
const scratch = mkdtempSync(join(tmpdir(), 'l2l-cli-'));
const history = join(scratch, 'history.sqlite');
const env = { L2LAB_STATE_BASE: state, L2LAB_HISTORY: history };
Object.assign(process.env, env); // the verbs run in this process read it
const spawned = (...args: string[]) => l2lab(args, env);
/** l2lab in this process: its exit code and what it wrote (the parser's lines and errors). */
const run = async (...args: string[]) => {
  let stdout = '';
  let stderr = '';
  const exitCode = await main(args, {
    out: (s) => {
      stdout += s;
    },
    err: (s) => {
      stderr += s;
    },
    env: { ...process.env, ...env },
  });
  return { exitCode, stdout, stderr };
};

/** What a command could have created: lab state, the history, report folders. */
const footprint = () => ({
  state: readdirSync(state),
  history: existsSync(history),
  reports: readdirSync(join(repo, 'reports')).sort(),
});

const verbs = [
  ['lab', 'up'],
  ['lab', 'down'],
  ['lab', 'status'],
  ['lab', 'ssh'],
  ['lab', 'spec'],
  ['lab', 'fault', 'inject'],
  ['lab', 'fault', 'undo'],
  ['lab', 'fault', 'list'],
  ['test'],
  ['conformance'],
  ['cluster', 'up'],
  ['cluster', 'render'],
  ['cluster', 'upgrade'],
  ['report', 'list'],
  ['report', 'import'],
  ['report', 'compare'],
  ['report', 'html'],
  ['report', 'html', 'compare'],
  ['nightly'],
  ['playbook'],
  ['box', 'build'],
  ['version'],
  ['completion'],
];

test('every verb answers --help with exit 0, naming its own usage', async (t) => {
  for (const v of verbs) {
    const r = await run(...v, '--help');
    t.is(r.exitCode, 0, `${v.join(' ')}: ${r.stderr}`);
    const name = v[0] === 'conformance' ? 'test|conformance' : v.at(-1)!;
    t.regex(r.stdout, new RegExp(`^Usage: l2lab .*${name.replace('|', '\\|')}`, 'm'), v.join(' '));
  }
  const top = await run('--help');
  t.regex(top.stdout, /Exit codes: 0 ok, 1 a check failed or a regression, 2 bad input/);
  t.is((await run('version')).stdout.trim(), (await run('--version')).stdout.trim());
  // As a process, through bin/l2lab.mjs.
  const v = await spawned('version');
  t.is(v.exitCode, 0);
  t.regex(v.stdout, /^\d+\.\d+\.\d+$/);
});

test('two default runs can be compared: the default trial count is what a compare needs for a verdict', (t) => {
  t.is(DEFAULT_TRIALS, defaultSettings.minTrials);
});

test('bad input exits 2 naming the flag or field, and creates nothing', async (t) => {
  const before = footprint();
  const badLab = join(scratch, 'bad.yaml');
  writeFileSync(badLab, 'name: tcli\nnodes: [{ name: x, labls: {} }]\n');
  const badSubject = join(scratch, 'subject.yaml');
  writeFileSync(badSubject, 'name: broken\n  install: [\n');
  const badMatrix = join(scratch, 'matrix.yaml');
  writeFileSync(badMatrix, `lab: ${join(scratch, 'no-such-lab.yaml')}\nsubjects: [reference]\n`);
  const cases: [string[], RegExp][] = [
    [['lab', 'status', '--lab', 'lab.yaml', '--name', 'x'], /give --lab FILE or --name NAME, not both/],
    [['lab', 'status', '--name', 'nosuch'], /no lab named "nosuch" is up on this host/],
    [['lab', 'up', '--colour'], /unknown option '--colour'/],
    [['lab', 'up', '--lab', badLab], /nodes\[0\]: unknown key "labls"/],
    [['lab', 'down', 'labs/vm.yaml'], /too many arguments for 'down'/],
    [['lab', 'fault', 'inject', 'power-off'], /missing required argument 'node'/],
    [['lab', 'fault', 'inject', 'melt', 'node01'], /unknown fault kind "melt"/],
    [['lab'], /Usage: l2lab lab/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['test', '--only', 'bogus-check'], /--only: unknown check "bogus-check"; checks: pool-address/],
    [['test', '--skip', 'failover,nope'], /--skip: unknown check "nope"/],
    [['test', '--subject', badSubject], /subject\.yaml: not a YAML subject file/],
    [['test', '--subjects', 'reference,keepalived', '--trials', '0'], /--trials must be a whole number from 1 to 100/],
    [['test', '--lease-retry-period', '10'], /--lease-retry-period: 10ms is below 20ms/],
    [
      ['test', '--lease-duration', '4000', '--lease-renew-deadline', '5000'],
      /--lease-renew-deadline: 5000ms must be shorter/,
    ],
    [
      ['test', '--subject', 'keepalived', '--lease-duration', '2000'],
      /keepalived has no lease .*leave out the --lease-\* flags/,
    ],
    [['test', '--faults', 'melt'], /--faults: unknown fault "melt"/],
    [['test', 'extra'], /too many arguments/],
    [
      ['playbook', 'base', '--inventory', join(scratch, 'missing.yaml')],
      /--inventory .*missing\.yaml: cannot read it \(ENOENT\)/,
    ],
    [['playbook', 'nosuch'], /no playbook "nosuch"/],
    [['playbook', 'base', '--forks', 'many'], /--forks must be a whole number/],
    [
      ['cluster', 'render', '--cilium-version', 'banana'],
      /--cilium-version: "banana" is not a Cilium release .*known here: .*1\.20\.0/,
    ],
    [['cluster', 'upgrade', '--lab', 'labs/cilium.yaml'], /upgrade needs --cilium-version/],
    [['cluster', 'up', '--lab', 'lab.yaml'], /Kubernetes needs VMs/],
    [['report', 'import', join(scratch, 'no-such-dir')], /import: no folder .*no-such-dir/],
    [['report', 'compare', 'a'], /missing required argument 'b'/],
    [['report', 'list', '--since', 'yesterday-ish'], /--since must be a date or time/],
    [['nightly'], /required option '-m, --matrix <file>' not specified/],
    [['nightly', '--matrix', badMatrix], /matrix\.yaml: lab: .*no-such-lab\.yaml: cannot read the lab file/],
    [['box', 'build', '--bogus'], /unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = await run(...args);
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message, args.join(' '));
    t.notRegex(r.stderr, /^\s+at /m, `${args.join(' ')}: no stack trace`);
  }
  // The same through the process: the parser's refusal and a verb's.
  for (const [args, message] of [cases[9]!]) {
    const r = await spawned(...args);
    t.is(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, message);
  }
  t.deepEqual(footprint(), before, 'nothing created: no lab state, no history, no report folder');
});

test('npm run without `--`: the flags npm took are refused, the default lab untouched; with `--` they reach l2lab', async (t) => {
  const npm = (...a: string[]) =>
    execa('npm', ['run', '-s', ...a], { cwd: repo, reject: false, env: { ...env, npm_config_loglevel: 'silent' } });
  const swallowed = await npm('lab:down', '--lab', 'labs/vm.yaml');
  t.is(swallowed.exitCode, 2, swallowed.stderr);
  t.regex(swallowed.stderr, /npm took --lab for itself .*nothing was done.*npm run lab:down -- --lab …/);
  const passed = await npm('lab:spec', '--', '--lab', 'labs/vm.yaml');
  t.is(passed.exitCode, 0, passed.stderr);
  t.is(JSON.parse(passed.stdout).lab ?? JSON.parse(passed.stdout).name, 'vm');
});

test('bash completion comes from the command tree: verbs, sub-verbs and their flags', async (t) => {
  const script = (await spawned('completion')).stdout;
  const complete = async (line: string) => {
    const words = line.split(' ');
    const r = await execa('bash', [
      '-c',
      `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _l2lab; ` +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's array, not a template
        'printf "%s\\n" "${COMPREPLY[@]}"',
    ]);
    return r.stdout.split('\n').filter(Boolean);
  };
  t.true((await complete('l2lab ')).includes('lab'));
  t.deepEqual((await complete('l2lab lab s')).sort(), ['spec', 'ssh', 'status']);
  t.true((await complete('l2lab lab fault inject --')).includes('--signal'));
  t.true((await complete('l2lab test --lease-')).includes('--lease-renew-deadline'));
  const labUp = await complete('l2lab lab up --');
  t.true(labUp.includes('--name'));
  t.false(labUp.includes('--trials'), "another verb's flag is not offered");
});

test('install profiles: the netns lab by default, the VM stack, browsers and peers on request', async (t) => {
  const list = async (...a: string[]) =>
    (await execa('bash', [join(repo, 'scripts', 'install.sh'), ...a, '--list'])).stdout.split(' ');
  const base = await list();
  for (const p of ['iproute2', 'tcpdump', 'etcd-server', 'openssh-server']) t.true(base.includes(p), p);
  for (const p of ['vagrant', 'qemu-system-x86', 'chromium', 'keepalived', 'frr', 'python3-yaml', 'prometheus'])
    t.false(base.includes(p), `${p} only on request`);
  const vm = await list('--with', 'vm,html');
  t.true(vm.includes('vagrant') && vm.includes('chromium') && !vm.includes('keepalived'));
  t.deepEqual((await list('--with', 'all')).sort(), (await list('--with', 'peers,vm,cluster,html,metrics')).sort());
  const bad = await execa('bash', [join(repo, 'scripts', 'install.sh'), '--with', 'vms'], { reject: false });
  t.is(bad.exitCode, 2);
  t.regex(bad.stdout + bad.stderr, /--with: unknown part "vms"; parts: peers, vm, cluster, html, metrics, all/);
});

test('run data goes to the data directory: --data names it, one inside the checkout is refused', async (t) => {
  const inside = await run('report', 'list', '--data', join(repo, 'reports'));
  t.is(inside.exitCode, 2);
  t.regex(
    inside.stderr,
    /the data directory .*reports lies inside the l2lab checkout .*give --data \(or L2LAB_DATA\) a folder outside it/,
  );
  const data = join(scratch, 'data');
  const list = await spawned('report', 'list', '--data', data);
  t.is(list.exitCode, 0, list.stderr);
  t.regex(list.stdout, new RegExp(`no runs in ${history}`), 'L2LAB_HISTORY still names the history');
  t.false(existsSync(history), 'a read-only verb writes no history');
});

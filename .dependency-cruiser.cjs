// Room boundaries, checked in `npm test` (npm run deps). Data flows one way:
// lab file → lab → inventory/playbooks → subject → conformance checks → reports.
const code = '^(cli|lab|playbooks|agent|conformance|reports|results|campaign|scripts)/';
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'a cycle makes two modules one; split out what both need', from: {}, to: { circular: true } },
    { name: 'lab-is-the-base', severity: 'error', comment: 'lab/ knows nothing of the rooms built on it', from: { path: '^lab/' }, to: { path: '^(cli|playbooks|agent|conformance|reports|campaign|bench|test)/' } },
    { name: 'agent-stands-alone', severity: 'error', comment: 'the announcer runs on nodes: it needs lab basics only, never the harness or a provider', from: { path: '^agent/' }, to: { path: '^(playbooks|conformance|reports|bench|test)/|^lab/(providers|faults|cli)' } },
    { name: 'agent-loads-no-provider', severity: 'error', comment: 'the agent starts on every node: no VM provider, SSH client or box builder behind it', from: { path: '^agent/' }, to: { path: '^lab/providers/(index\\.ts$|netns/|vagrant/)|node_modules/(node-ssh|ssh2)/', reachable: true } },
    { name: 'checks-judge-independently', severity: 'error', comment: "the suite never judges with the subject's own code: its frames, pools and names are its own (a bug in the agent must not hide itself)", from: { path: '^conformance/' }, to: { path: '^agent/' } },
    { name: 'playbooks-below-conformance', severity: 'error', from: { path: '^playbooks/' }, to: { path: '^(conformance|reports|bench|test)/' } },
    { name: 'reports-read-results', severity: 'error', comment: 'reports are views of results.json (results/): they read no suite code but its frame decoder, for captures', from: { path: '^reports/' }, to: { path: '^(lab/providers|playbooks|agent|bench|test)/|^conformance/(?!frames\\.ts$)' } },
    { name: 'suite-returns-results', severity: 'error', comment: 'the suite returns results; the command line (cli/) writes and indexes them (reports/write.ts writeRun)', from: { path: '^conformance/' }, to: { path: '^reports/' } },
    { name: 'results-stand-alone', severity: 'error', comment: 'the results contract (schema, statistics) depends on no room: the suite, reports and bench all read it', from: { path: '^results/' }, to: { path: '^(lab|playbooks|agent|conformance|reports|bench|test)/' } },
    { name: 'campaigns-on-top', severity: 'error', comment: 'a campaign runs the suite in turn and compares the runs: only the command line (cli/) drives it', from: { path: '^(lab|playbooks|agent|conformance|reports|results)/' }, to: { path: '^campaign/' } },
    { name: 'cli-on-top', severity: 'error', comment: 'the command line (cli/) drives every room; no room calls it', from: { path: '^(lab|playbooks|agent|conformance|reports|results|campaign)/' }, to: { path: '^cli/' } },
    { name: 'no-test-code-in-the-product', severity: 'error', from: { path: code }, to: { path: '^(test|bench)/' } },
    { name: 'bench-is-not-a-test', severity: 'error', comment: 'shared helpers belong in the product, not in test/', from: { path: '^bench/' }, to: { path: '^test/' } },
    { name: 'resolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'], conditionNames: ['import', 'node', 'default'], exportsFields: ['exports'] },
  },
};

// npm run bench [-- --runs N] [--trials N] [--only lab,playbook,conformance,suite,attribution,naming,history]: every benchmark side by
// side in one run.
import { parseArgs } from 'node:util';
import { benchAttribution, printAttribution } from './attribution.ts';
import { benchConformance, printConformance } from './conformance.ts';
import { benchHistory, printHistory } from './history.ts';
import { benchLab, benchLabScale, printLab, printLabScale } from './lab.ts';
import { benchNaming, printNaming } from './naming.ts';
import { benchPlaybook, printPlaybook } from './playbook.ts';
import { benchSuiteTime, printSuiteTime } from './suite-time.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    trials: { type: 'string', default: '10' },
    only: { type: 'string' },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a whole number ≥ 1, not "${values.runs}"`);
  process.exit(2);
}
const trials = Number(values.trials);
const benches = {
  lab: async () => printLab(await benchLab(runs)),
  'lab-scale': async () => printLabScale(await benchLabScale(Math.min(runs, 3))),
  playbook: async () => printPlaybook(await benchPlaybook(runs)),
  conformance: async () => printConformance(await benchConformance(trials)),
  suite: async () => printSuiteTime(await benchSuiteTime()),
  // --trials sets the soak's power-offs per subject (the figure: 50)
  attribution: async () => printAttribution(await benchAttribution(trials)),
  naming: async () => printNaming(benchNaming(runs)),
  history: async () => printHistory(benchHistory(runs)),
};
const only = values.only?.split(',') ?? Object.keys(benches);
for (const o of only)
  if (!(o in benches)) {
    console.error(`--only: unknown bench "${o}"; benches: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
console.log(`l2lab bench: ${runs} runs each, ${new Date().toISOString()}`);
for (const o of only) await benches[o as keyof typeof benches]();

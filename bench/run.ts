// npm run bench [-- --runs N]: every benchmark side by side in one run.
import { parseArgs } from 'node:util';
import { benchLab, printLab } from './lab.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) { console.error(`--runs must be a whole number ≥ 1, not "${values.runs}"`); process.exit(2); }
console.log(`l2lab bench: ${runs} runs each, ${new Date().toISOString()}`);
printLab(await benchLab(runs));

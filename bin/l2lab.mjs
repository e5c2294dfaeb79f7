#!/usr/bin/env node
// The l2lab command: runs cli/l2lab.ts from its bundle in dist/ (scripts/run.mjs rebuilds the
// bundle when a source is newer).
process.argv.splice(2, 0, 'l2lab');
await import('../scripts/run.mjs');

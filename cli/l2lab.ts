// The l2lab process (bin/l2lab.mjs runs it from its bundle): cli/main.ts, then its exit code.
import { main } from './main.ts';

main(process.argv.slice(2)).then((code) => process.exit(code));

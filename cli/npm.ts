// `npm run lab:down --lab labs/vm.yaml` (no `--`) hands --lab to npm, not to l2lab: npm keeps it as
// npm_config_lab and passes on only the value. A command that removes labs must then refuse, not
// act on the default lab. npm sets npm_config_<flag> to a value only for flags it was given.
import type { Command } from 'commander';

function longOptions(c: Command): string[] {
  return [
    ...c.options.flatMap((o) => (o.long ? [o.long.replace(/^--(no-)?/, '')] : [])),
    ...c.commands.flatMap(longOptions),
  ];
}

/** The refusal to print when npm swallowed some of l2lab's flags, or undefined. */
export function npmSwallowed(program: Command, env: NodeJS.ProcessEnv): string | undefined {
  const event = env.npm_lifecycle_event;
  // Only when npm ran one of l2lab's own aliases (not `npm test`, whose children inherit its env).
  if (!event || !/scripts\/run\.mjs l2lab|bin\/l2lab/.test(env.npm_lifecycle_script ?? '')) return undefined;
  // npm 11 exports some of its own settings empty whether given or not (npm_config_yes=): a flag it took has a value.
  const taken = [...new Set(longOptions(program))].filter((n) => !!env[`npm_config_${n.replace(/-/g, '_')}`]);
  if (!taken.length) return undefined;
  return (
    `npm took ${taken.map((n) => `--${n}`).join(', ')} for itself and passed l2lab only what followed: nothing was done. ` +
    `npm hands flags to a script after \`--\`: npm run ${event} -- ${taken.map((n) => `--${n} …`).join(' ')} ` +
    '(or run l2lab itself: npx l2lab …)'
  );
}

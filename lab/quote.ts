// One shell-quoting rule for the whole project (POSIX sh), as Python's shlex.quote: safe words
// stay as they are, anything else is single-quoted.
export function shq(word: string): string {
  if (word === '') return "''";
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

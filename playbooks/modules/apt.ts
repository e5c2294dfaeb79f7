// apt: Debian packages present or absent, cache updated within a validity window (and whenever a
// package source changed since the last update).
// On the netns lab the nodes share the host's packages: apt then runs once, on the host,
// under a lock, and every other node reports what that run did instead of racing it.
import { z } from 'zod';
import { type Connection, LocalConnection, q } from '../connection.ts';
import { defineModule, failed, type ModuleResult, type TaskContext } from '../module.ts';

const args = z.strictObject({
  name: z
    .union([z.string(), z.array(z.string())])
    .transform((n) =>
      Array.isArray(n)
        ? n
        : n
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    )
    .default([]),
  state: z.enum(['present', 'absent']).default('present'),
  update_cache: z.boolean().default(false),
  cache_valid_time: z.number().int().nonnegative().default(0),
});
type Args = z.infer<typeof args>;

async function installed(conn: Connection, pkgs: string[]): Promise<Set<string>> {
  if (!pkgs.length) return new Set();
  const r = await conn.run(
    `dpkg-query -W -f='\${Package} \${db:Status-Status}\\n' ${pkgs.map(q).join(' ')} 2>/dev/null; true`,
  );
  return new Set(
    r.stdout
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]!.split(':')[0]!),
  );
}

async function apply(conn: Connection, a: Args, check: boolean, lock?: string): Promise<ModuleResult> {
  const have = await installed(conn, a.name);
  const todo = a.state === 'present' ? a.name.filter((p) => !have.has(p)) : a.name.filter((p) => have.has(p));
  let cacheStale = false;
  if (a.update_cache) {
    // The age of the last update, and whether a package source changed since (a source added or
    // pointed elsewhere: the lists do not know it yet, however recent they are).
    const age = await conn.run(
      `s=/var/lib/apt/periodic/update-success-stamp; [ -e $s ] || s=/var/cache/apt/pkgcache.bin; if [ -e $s ]; then echo $(( $(date ` +
        `+%s) - $(stat -c %Y $s) )); find /etc/apt/sources.list /etc/apt/sources.list.d -maxdepth 1 -type f -newer $s 2>/dev/null | ` +
        `head -1; else echo -1; fi`,
    );
    const [secsText, newerSource] = age.stdout.trim().split('\n');
    const secs = Number(secsText);
    cacheStale = secs < 0 || a.cache_valid_time === 0 || secs > a.cache_valid_time || !!newerSource?.trim();
  }
  const changed = todo.length > 0 || cacheStale;
  const msg =
    [
      cacheStale && 'update the package cache',
      todo.length && `${a.state === 'present' ? 'install' : 'remove'} ${todo.join(' ')}`,
    ]
      .filter(Boolean)
      .join(', ') || `${a.name.join(' ') || 'cache'} already as wanted`;
  if (!changed || check) return { changed, msg: check && changed ? `would ${msg}` : msg, packages: todo };
  const env = 'DEBIAN_FRONTEND=noninteractive';
  const steps = [
    cacheStale && `apt-get update -q && touch /var/lib/apt/periodic/update-success-stamp 2>/dev/null; true`,
    todo.length &&
      (a.state === 'present'
        ? `${env} apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 ${todo.map(q).join(' ')}`
        : `${env} apt-get remove -y -q -o DPkg::Lock::Timeout=600 ${todo.map(q).join(' ')}`),
  ]
    .filter(Boolean)
    .join(' && ');
  const cmd = lock ? `mkdir -p ${q(lock.replace(/\/[^/]*$/, ''))} && flock -w 900 ${q(lock)} sh -c ${q(steps)}` : steps;
  const r = await conn.run(cmd);
  if (r.rc !== 0)
    return failed(`apt failed (rc ${r.rc}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`, {
      rc: r.rc,
    });
  return { changed, msg, packages: todo };
}

export default defineModule({
  name: 'apt',
  args,
  async run(ctx: TaskContext, a) {
    if (!a.name.length && !a.update_cache) return failed('give name (packages) and/or update_cache: true');
    if (!ctx.sharedHost) return apply(ctx.conn, a, ctx.check);
    const key = `apt ${a.state} ${[...a.name].sort().join(',')} ${a.update_cache} ${ctx.check}`;
    const { value, first, by } = await ctx.shared.once(key, () =>
      apply(new LocalConnection(), a, ctx.check, ctx.sharedHost!.lockFile),
    );
    const note = "packages are the host's (netns lab): apt ran once, on the host";
    return first
      ? { ...value, msg: `${value.msg} (${note})` }
      : { ...value, changed: false, msg: `${note}, for ${by}: ${value.msg}` };
  },
});

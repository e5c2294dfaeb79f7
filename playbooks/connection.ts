// One connection per host for the whole run: commands over a reused SSH session (or the
// controller itself, for work that is the host's on the netns lab), plus file primitives
// built on them with as few round trips as possible.

import { execa } from 'execa';
import type { NodeSSH } from 'node-ssh';
import { shq } from '../lab/quote.ts';
import { connectEndpoint, type SshEndpoint } from '../lab/ssh.ts';

export interface CommandResult {
  rc: number;
  stdout: string;
  stderr: string;
}

export interface Connection {
  readonly host: string;
  /** Runs a shell command line (POSIX sh) as the connection's user, or as root with become. */
  run(command: string, opts?: { stdin?: string; become?: boolean; becomeUser?: string }): Promise<CommandResult>;
  close(): void;
}

/** Single-quotes a word for POSIX sh. */
export const q = shq;

function wrapBecome(user: string, command: string, become?: boolean, becomeUser = 'root'): string {
  if (!become || user === becomeUser) return command;
  return `sudo -n -H -u ${q(becomeUser)} -- sh -c ${q(command)}`;
}

export class SshConnection implements Connection {
  private constructor(
    readonly host: string,
    private readonly ssh: NodeSSH,
    private readonly user: string,
  ) {}

  static async open(ep: SshEndpoint): Promise<SshConnection> {
    return new SshConnection(ep.name, await connectEndpoint(ep), ep.user);
  }

  async run(
    command: string,
    opts: { stdin?: string; become?: boolean; becomeUser?: string } = {},
  ): Promise<CommandResult> {
    const r = await this.ssh.execCommand(wrapBecome(this.user, command, opts.become, opts.becomeUser), {
      stdin: opts.stdin,
      noTrim: true,
    });
    return { rc: r.code ?? (r.signal ? 128 : -1), stdout: r.stdout, stderr: r.stderr };
  }

  close(): void {
    this.ssh.dispose();
  }
}

/** The controller itself (root on this machine). */
export class LocalConnection implements Connection {
  readonly host = 'localhost';
  async run(command: string, opts: { stdin?: string } = {}): Promise<CommandResult> {
    const r = await execa('sh', ['-c', command], {
      input: opts.stdin,
      reject: false,
      stdin: opts.stdin === undefined ? 'ignore' : undefined,
    });
    return { rc: r.exitCode ?? -1, stdout: r.stdout as string, stderr: r.stderr as string };
  }
  close(): void {}
}

export interface Stat {
  exists: boolean;
  type?: 'file' | 'directory' | 'link' | 'other';
  mode?: string; // octal, e.g. "0644"
  owner?: string;
  group?: string;
  linkTarget?: string;
  sha256?: string; // regular files only
}

/** stat in one round trip: type, mode, owner, group, link target and checksum. */
export async function stat(conn: Connection, path: string, become?: boolean): Promise<Stat> {
  const p = q(path);
  const r = await conn.run(
    `if [ -L ${p} ]; then printf 'link %s\\n' "$(readlink ${p})"; elif [ -d ${p} ]; then echo directory; elif [ -f ${p} ]; then echo ` +
      `file; elif [ -e ${p} ]; then echo other; else echo absent; exit 0; fi; ` +
      `stat -c '%a %U %G' ${p}; [ -f ${p} ] && [ ! -L ${p} ] && sha256sum ${p} | cut -d' ' -f1; true`,
    { become },
  );
  const [kind = 'absent', perms = '', sum] = r.stdout.split('\n');
  if (kind === 'absent') return { exists: false };
  const [mode, owner, group] = perms.split(' ');
  const type = kind.startsWith('link ') ? 'link' : (kind as Stat['type']);
  return {
    exists: true,
    type,
    mode: mode?.padStart(4, '0'),
    owner,
    group,
    linkTarget: kind.startsWith('link ') ? kind.slice(5) : undefined,
    sha256: sum || undefined,
  };
}

/** Reads a file exactly (base64 on the wire); undefined when it does not exist. */
export async function readFile(conn: Connection, path: string, become?: boolean): Promise<string | undefined> {
  const r = await conn.run(`[ -f ${q(path)} ] || exit 3; base64 -w0 ${q(path)}`, { become });
  if (r.rc === 3) return undefined;
  if (r.rc !== 0) throw new Error(`cannot read ${path}: ${r.stderr.trim()}`);
  return Buffer.from(r.stdout, 'base64').toString('utf8');
}

/** Writes atomically (temp file in the same directory, then rename), with mode/owner if given. */
export async function writeFile(
  conn: Connection,
  path: string,
  content: string | Buffer,
  opts: { mode?: string; owner?: string; group?: string; become?: boolean } = {},
): Promise<void> {
  const p = q(path);
  const dir = q(path.replace(/\/[^/]*$/, '') || '/');
  const chmod = opts.mode
    ? `chmod ${q(opts.mode)} "$t" && `
    : `{ [ -e ${p} ] && chmod --reference=${p} "$t" || chmod 0644 "$t"; } && `;
  const chown =
    opts.owner || opts.group ? `chown ${q(`${opts.owner ?? ''}${opts.group ? `:${opts.group}` : ''}`)} "$t" && ` : '';
  const r = await conn.run(
    `t=$(mktemp ${dir}/.l2lab-XXXXXX) && base64 -d > "$t" && ${chmod}${chown}mv -f "$t" ${p} || { rm -f "$t"; exit 1; }`,
    { stdin: Buffer.from(content).toString('base64'), become: opts.become },
  );
  if (r.rc !== 0) throw new Error(`cannot write ${path}: ${r.stderr.trim() || `exit ${r.rc}`}`);
}

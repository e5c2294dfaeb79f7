// SSH to lab nodes: per-lab keys, pinned host keys (known_hosts written by l2lab), never
// blind acceptance. Used by lab:ssh (OpenSSH client) and by the playbook engine (node-ssh).

import { existsSync, readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { NodeSSH } from 'node-ssh';
import { run } from './command.ts';
import type { HostStatus, LabStatus } from './types.ts';
import { UsageError } from './validation.ts';

export async function ensureKey(path: string, comment: string): Promise<boolean> {
  if (existsSync(path) && existsSync(`${path}.pub`)) return false;
  await run(['rm', '-f', path, `${path}.pub`]);
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  return true;
}

/** "ssh-ed25519 AAAA…" of a public key file, without the comment. */
export function publicKey(path: string): string {
  return readFileSync(path, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

export function knownHostsLine(address: string, hostKey: string): string {
  return `${address} ${hostKey}`;
}

function sshTarget(status: LabStatus, nodeName: string): { node: HostStatus; ssh: NonNullable<HostStatus['ssh']> } {
  const node = [...status.nodes, status.client].find((n) => n.name === nodeName);
  if (!node)
    throw new UsageError(
      `no node "${nodeName}" in lab ${status.lab}; nodes: ${status.nodes.map((n) => n.name).join(', ')}`,
    );
  if (!node.ssh)
    throw new UsageError(
      `${nodeName} is not reached over SSH: a hosts file's local: true machine is this one (run the command here); ` +
        "a netns lab's client has an SSH endpoint with client: { management: true }",
    );
  return { node, ssh: node.ssh };
}

/** Arguments for the OpenSSH client, with the lab's key and known_hosts only. */
export function opensshArgs(status: LabStatus, nodeName: string): string[] {
  const { ssh } = sshTarget(status, nodeName);
  return [
    '-i',
    status.ssh.identityFile,
    '-o',
    `UserKnownHostsFile=${status.ssh.knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
    '-p',
    String(ssh.port),
    `${ssh.user}@${ssh.host}`,
  ];
}

export class UnreachableError extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    cause: string,
  ) {
    super(`host ${host} unreachable at ${address}: ${cause}`);
    this.name = 'UnreachableError';
  }
}

/** Where and how to reach one host over SSH, with the host key to pin. */
export interface SshEndpoint {
  name: string;
  host: string;
  port: number;
  user: string;
  identityFile: string;
  hostKey: string;
}

export function endpointOf(status: LabStatus, nodeName: string): SshEndpoint {
  const { ssh } = sshTarget(status, nodeName);
  return { name: nodeName, ...ssh, identityFile: status.ssh.identityFile };
}

const shown = new WeakMap<NodeSSH, Buffer>();

/** The host key a connection's machine showed, as a known_hosts key ("ssh-ed25519 AAAA…"). */
export function hostKeyShown(conn: NodeSSH): string | undefined {
  const blob = shown.get(conn);
  if (!blob || blob.length < 4) return undefined;
  const type = blob.subarray(4, 4 + blob.readUInt32BE(0)).toString('latin1');
  return `${type} ${blob.toString('base64')}`;
}

/** A node-ssh connection that accepts only the pinned host key. */
export async function connectEndpoint(ep: SshEndpoint, timeoutMs = 5000): Promise<NodeSSH> {
  // One key, or several (one per line: what known_hosts holds for the address); the one shown must be among them.
  const pinned = ep.hostKey.split('\n').map((k) => Buffer.from(k.split(' ')[1] ?? '', 'base64'));
  const client = new NodeSSH();
  let offered: Buffer | undefined;
  let key: string;
  try {
    key = readFileSync(ep.identityFile, 'utf8');
  } catch (e) {
    throw new UnreachableError(
      ep.name,
      `${ep.user}@${ep.host}:${ep.port}`,
      `cannot read the identity file ${ep.identityFile} (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  try {
    await client.connect({
      host: ep.host,
      port: ep.port,
      username: ep.user,
      privateKey: key,
      readyTimeout: timeoutMs,
      hostVerifier: (k: Buffer) => {
        offered = k;
        return pinned.some((p) => k.equals(p));
      },
    } as Parameters<NodeSSH['connect']>[0]);
  } catch (e) {
    const why =
      offered && !pinned.some((p) => offered!.equals(p))
        ? 'host key does not match the pinned key (known_hosts of this lab); rerun lab:up if the lab was rebuilt'
        : (e as Error).message;
    throw new UnreachableError(ep.name, `${ep.user}@${ep.host}:${ep.port}`, why);
  }
  if (offered) shown.set(client, offered);
  // Small SSH packets (channel open, exec, EOF) must not wait for delayed ACKs: ~40 ms each otherwise.
  client.connection?.setNoDelay(true);
  // A machine that is powered off and on again answers the old connection with a reset: that
  // must end this connection (callers reconnect), not the process.
  client.connection?.on('error', () => client.dispose());
  return client;
}

export function connect(status: LabStatus, nodeName: string, timeoutMs = 5000): Promise<NodeSSH> {
  return connectEndpoint(endpointOf(status, nodeName), timeoutMs);
}

/**
 * Whether a command failed because its connection is gone (the far end reset or closed it), not
 * for the command's own sake: the client dropped the connection (connectEndpoint disposes it on
 * a socket error, node-ssh on close), or the error is the socket's own.
 */
export function isConnectionLost(e: unknown, conn: { isConnected(): boolean }): boolean {
  const err = e as { level?: string; code?: string };
  return (
    !conn.isConnected() ||
    err?.level === 'client-socket' ||
    ['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(err?.code ?? '')
  );
}

/** True when an SSH server answers with its banner at addr:22. */
export function sshBanner(addr: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: addr, port: 22 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('SSH-')));
  });
}

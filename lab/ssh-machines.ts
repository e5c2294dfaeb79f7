// Machines reached over SSH (VMs, machines l2lab did not build): one cached connection per
// machine, commands as argv, a reconnect when a machine rebooted under a cached connection, the
// machine's clock against this one's, and file copies. Providers say where each machine is.
import type { NodeSSH } from 'node-ssh';
import { findHost } from './hosts.ts';
import type { ExecResult } from './provider.ts';
import { shq } from './quote.ts';
import { connectEndpoint, isConnectionLost, type SshEndpoint } from './ssh.ts';
import type { Lab } from './types.ts';

export class SshMachines {
  private conns = new Map<string, Promise<NodeSSH>>();
  private offsets = new Map<string, number>();

  constructor(
    /** Where a machine is and the host key it must show. */
    private readonly endpoint: (lab: Lab, host: string) => SshEndpoint,
    /** What to tell the user when a machine cannot be reached, after the connection's own error. */
    private readonly unreachableHint: string,
    /**
     * How long a live connection may take to run `true` after a command timed out on it (a new
     * channel and process; generous for an emulated VM under load).
     */
    private readonly aliveMs = 10_000,
  ) {}

  conn(lab: Lab, host: string): Promise<NodeSSH> {
    let c = this.conns.get(host);
    if (!c) {
      c = connectEndpoint(this.endpoint(lab, host), 10_000);
      this.conns.set(host, c);
      c.catch(() => this.conns.delete(host));
    }
    return c.then((conn) => {
      if (conn.isConnected()) return conn;
      this.conns.delete(host);
      return this.conn(lab, host);
    });
  }

  /** A connection made elsewhere (the first one, as the provider set the machine up) becomes the cached one. */
  adopt(host: string, conn: NodeSSH): void {
    if (!this.conns.has(host)) this.conns.set(host, Promise.resolve(conn));
  }

  /** Forgets a machine's connection and clock (it was powered off: it comes back with new ones). */
  drop(host: string): void {
    this.offsets.delete(host);
    const c = this.conns.get(host);
    this.conns.delete(host);
    void c?.then(
      (x) => x.dispose(),
      () => {},
    );
  }

  async exec(
    lab: Lab,
    host: string,
    argv: string[],
    opts: { input?: string; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    findHost(lab, host); // an unknown name: the error lists the machines
    const cached = this.conns.get(host);
    try {
      return await this.execOnce(lab, host, argv, opts);
    } catch (e) {
      // A cached connection to a machine that has since rebooted (powered off and on by another
      // process, or by hand) looks open until it is used, and then is reset: the command never
      // reached the new boot, so it is sent once more on a fresh connection. Only if the command
      // went out on that cached connection (conn() keeps it while it looks open).
      const used = this.conns.get(host) === cached ? await cached?.catch(() => undefined) : undefined;
      if (!used || !isConnectionLost(e, used)) throw e;
      this.drop(host);
      return this.execOnce(lab, host, argv, opts);
    }
  }

  private async execOnce(
    lab: Lab,
    host: string,
    argv: string[],
    opts: { input?: string; timeoutMs?: number },
  ): Promise<ExecResult> {
    let conn: NodeSSH;
    try {
      conn = await this.conn(lab, host);
    } catch (e) {
      throw new Error(`${host} cannot be reached over SSH (${(e as Error).message}); ${this.unreachableHint}`);
    }
    const used = this.conns.get(host);
    const running = conn.execCommand(argv.map(shq).join(' '), opts.input === undefined ? {} : { stdin: opts.input });
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      running,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // A machine power-cycled behind this connection (a fence from the lab's BMC, another
          // process) never resets it: it looks open and every command on it hangs. One that
          // cannot run `true` either is dropped (the next command gets a fresh one); a live one
          // is kept, with the other commands running on it.
          if (this.conns.get(host) === used) void this.dropIfDead(host, conn, used);
          reject(new Error(`${argv.join(' ')} on ${host}: timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.code ?? -1 };
  }

  /** Drops the cached connection unless it runs `true` within aliveMs (and is still the cached one). */
  private async dropIfDead(host: string, conn: NodeSSH, cached: Promise<NodeSSH> | undefined): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const alive = await Promise.race([
      conn.execCommand('true').then(
        (r) => r.code === 0,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), this.aliveMs);
        timer.unref(); // a process that is done need not wait for the verdict
      }),
    ]).finally(() => clearTimeout(timer));
    if (!alive && this.conns.get(host) === cached) this.drop(host);
  }

  /** NTP's idea over SSH: the sample with the shortest round trip bounds the error by half of it. */
  async clockOffset(lab: Lab, host: string): Promise<{ offsetMs: number; uncertaintyMs: number }> {
    let best = { offsetMs: 0, uncertaintyMs: Infinity };
    for (let i = 0; i < 7; i++) {
      const t0 = performance.timeOrigin + performance.now();
      const r = await this.exec(lab, host, ['date', '+%s%N']);
      const t1 = performance.timeOrigin + performance.now();
      const remote = Number(BigInt(r.stdout.trim()) / 1000n) / 1000;
      if ((t1 - t0) / 2 < best.uncertaintyMs) best = { offsetMs: remote - (t0 + t1) / 2, uncertaintyMs: (t1 - t0) / 2 };
    }
    return best;
  }

  /** A moment on a machine's clock, on this machine's: its offset is measured once per boot. */
  async hostTime(lab: Lab, host: string, ms: number): Promise<number> {
    let o = this.offsets.get(host);
    if (o === undefined) {
      o = (await this.clockOffset(lab, host)).offsetMs;
      this.offsets.set(host, o);
    }
    return ms - o;
  }

  async copyFrom(lab: Lab, host: string, remote: string, local: string): Promise<void> {
    await (await this.conn(lab, host)).getFile(local, remote);
  }

  async copyTo(lab: Lab, host: string, local: string, remote: string): Promise<void> {
    await (await this.conn(lab, host)).putFile(local, remote);
  }

  /** Closes the cached connections (they keep a process alive). */
  close(): void {
    for (const h of [...this.conns.keys()]) this.drop(h);
  }
}

/**
 * What a provider of machines reached over SSH has by way of them: each machine's own clock (the
 * client's captures are timed on it, faults on this machine's) and copies of its files.
 */
export abstract class OverSsh {
  protected abstract readonly machines: SshMachines;

  clockOffset(lab: Lab, host: string): Promise<{ offsetMs: number; uncertaintyMs: number }> {
    return this.machines.clockOffset(lab, host);
  }

  hostTime(lab: Lab, host: string, ms: number): Promise<number> {
    return this.machines.hostTime(lab, host, ms);
  }

  copyFrom(lab: Lab, host: string, remote: string, local: string): Promise<void> {
    return this.machines.copyFrom(lab, host, remote, local);
  }
}

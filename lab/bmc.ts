// The lab's BMC: what a fence agent reaches to power a machine off and on, as a server's baseboard
// management controller does. It speaks the part of DMTF Redfish that Debian's fence_redfish uses
// (fence-agents 4.12: GET the service root, the Systems collection and a System's PowerState; POST
// ComputerSystem.Reset with On, ForceOff or ForceRestart), over HTTPS with basic authentication, on
// the host's address of the lab's management network (where BMCs live), and powers machines with
// the provider's own power primitive — the one the power-off fault uses. Like OpenStack's
// sushy-tools (one endpoint, one System per machine). One per lab, started on demand (`l2lab lab
// bmc`, the playbooks' `bmc` module), stopped by lab:down; every action is logged with its time.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Primitives } from './faults/fault.ts';
import { alive } from './files.ts';
import { labPaths } from './names.ts';
import { repoRoot } from './paths.ts';
import type { Lab } from './types.ts';

export const BMC_PORT = 8443;
export const BMC_USER = 'l2lab';

export interface BmcInfo {
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** The Redfish System of each machine. */
  systems: Record<string, string>;
}

const files = (lab: string) => {
  const dir = join(labPaths(lab).dir, 'bmc');
  return {
    dir,
    pid: join(dir, 'pid'),
    password: join(dir, 'password'),
    key: join(dir, 'key.pem'),
    cert: join(dir, 'cert.pem'),
    log: join(dir, 'bmc.log'),
  };
};

export function bmcInfo(lab: Lab, password: string): BmcInfo {
  const host = lab.management.hostAddress;
  return {
    url: `https://${host}:${BMC_PORT}/redfish/v1`,
    host,
    port: BMC_PORT,
    user: BMC_USER,
    password,
    systems: Object.fromEntries(lab.nodes.map((n) => [n.name, `/redfish/v1/Systems/${n.name}`])),
  };
}

const isBmc = (pid: number, lab: string) => {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('bmc') && argv.includes('--serve') && argv.includes(lab);
  } catch {
    return false;
  }
};

/** The lab's BMC if it runs. */
export async function runningBmc(lab: Lab): Promise<BmcInfo | undefined> {
  const f = files(lab.name);
  if (!existsSync(f.pid) || !existsSync(f.password)) return undefined;
  // The server writes its PID once it listens; the PID must still be that server's (no probe of
  // the port: with the lab down its address is no longer this host's, and a connection would leave).
  const pid = Number(readFileSync(f.pid, 'utf8'));
  if (!(pid > 0 && alive(pid) && isBmc(pid, lab.name))) return undefined;
  return bmcInfo(lab, readFileSync(f.password, 'utf8').trim());
}

/** Starts the lab's BMC unless it runs; returns it and whether it was started. */
export async function ensureBmc(lab: Lab): Promise<{ bmc: BmcInfo; started: boolean }> {
  const running = await runningBmc(lab);
  if (running) return { bmc: running, started: false };
  if (!lab.management.hostAddress)
    throw new Error(`lab ${lab.name} has no address of this host on its management network: no BMC can listen there`);
  const f = files(lab.name);
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  if (!existsSync(f.password)) writeFileSync(f.password, `${randomBytes(12).toString('hex')}\n`, { mode: 0o600 });
  if (!existsSync(f.cert))
    // A self-signed certificate, as a BMC ships with (fence agents take it with ssl_insecure).
    await execa('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      `/CN=l2l-${lab.name}-bmc`,
      '-keyout',
      f.key,
      '-out',
      f.cert,
    ]);
  const log = openSync(f.log, 'a');
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'l2lab.mjs'), 'lab', 'bmc', '--name', lab.name, '--serve'],
    {
      detached: true,
      stdio: ['ignore', log, log],
    },
  );
  child.unref();
  const end = Date.now() + 20_000;
  while (Date.now() < end && child.exitCode === null) {
    const bmc = await runningBmc(lab);
    if (bmc) return { bmc, started: true };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `the lab's BMC ${child.exitCode === null ? 'did not start within 20 s' : `exited (${child.exitCode})`}; its log: ${f.log}`,
  );
}

/** Stops the lab's BMC (lab:down); returns what went. */
export function stopBmc(labName: string): string[] {
  const f = files(labName);
  if (!existsSync(f.pid)) return [];
  const pid = Number(readFileSync(f.pid, 'utf8'));
  if (!(pid > 0 && alive(pid) && isBmc(pid, labName))) return [];
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return [];
  }
  return [`BMC (pid ${pid})`];
}

/** Serves the BMC in this process until SIGTERM. */
export async function serveBmc(lab: Lab, io: Primitives): Promise<void> {
  if (!io.power) throw new Error(`the ${lab.name} lab's provider has no power primitive: nothing for a BMC to do`);
  const power = io.power.bind(io);
  const f = files(lab.name);
  const info = bmcInfo(lab, readFileSync(f.password, 'utf8').trim());
  const auth = `Basic ${Buffer.from(`${info.user}:${info.password}`).toString('base64')}`;
  const say = (m: string) => appendFileSync(f.log, `${new Date().toISOString()} ${m}\n`);
  // A machine this BMC powered on is on while it boots; otherwise the hypervisor says, where the
  // provider can ask it (a VM that is off does not answer SSH: asking it cost fence_redfish 3 s a
  // status poll), else a machine that runs no command is off.
  const booting = new Set<string>();
  // One power action at a time per machine, as each machine's own BMC.
  const busy = new Map<string, Promise<unknown>>();
  const nodeOf = (name: string) => lab.nodes.find((n) => n.name === name);
  const powerState = async (name: string): Promise<'On' | 'Off'> => {
    if (booting.has(name)) return 'On';
    if (io.powered) return (await io.powered(lab, name)) ? 'On' : 'Off';
    const r = await io.exec(lab, name, ['true'], { timeoutMs: 3000 }).catch(() => undefined);
    return r?.exitCode === 0 ? 'On' : 'Off';
  };
  const json = (res: ServerResponse, code: number, body?: unknown) => {
    res.writeHead(code, { 'content-type': 'application/json', 'odata-version': '4.0' });
    res.end(body === undefined ? '' : JSON.stringify(body));
  };
  const system = async (name: string) => ({
    '@odata.id': `/redfish/v1/Systems/${name}`,
    '@odata.type': '#ComputerSystem.v1_10_0.ComputerSystem',
    Id: name,
    Name: name,
    PowerState: await powerState(name),
    Actions: {
      '#ComputerSystem.Reset': {
        target: `/redfish/v1/Systems/${name}/Actions/ComputerSystem.Reset`,
        'ResetType@Redfish.AllowableValues': ['On', 'ForceOff', 'ForceRestart'],
      },
    },
  });
  const body = (req: IncomingMessage) =>
    new Promise<string>((done, fail) => {
      let s = '';
      req.on('data', (c: Buffer) => {
        s += c;
      });
      req.on('end', () => done(s));
      req.on('error', fail);
    });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== auth) return json(res, 401, { error: { message: 'wrong user or password' } });
    const path = (req.url ?? '/').replace(/\/+$/, '');
    if (req.method === 'GET' && path === '/redfish/v1')
      return json(res, 200, {
        '@odata.id': '/redfish/v1',
        Id: 'RootService',
        RedfishVersion: '1.6.0',
        Systems: { '@odata.id': '/redfish/v1/Systems' },
      });
    if (req.method === 'GET' && path === '/redfish/v1/Systems')
      return json(res, 200, {
        '@odata.id': '/redfish/v1/Systems',
        Members: lab.nodes.map((n) => ({ '@odata.id': `/redfish/v1/Systems/${n.name}` })),
        'Members@odata.count': lab.nodes.length,
      });
    const m = /^\/redfish\/v1\/Systems\/([^/]+)(\/Actions\/ComputerSystem\.Reset)?$/.exec(path);
    const name = m?.[1];
    if (!m || !name || !nodeOf(name)) return json(res, 404, { error: { message: `no such resource: ${path}` } });
    if (req.method === 'GET' && !m[2]) return json(res, 200, await system(name));
    if (req.method !== 'POST' || !m[2]) return json(res, 405, { error: { message: `${req.method} ${path}` } });
    let reset: string;
    try {
      reset = String((JSON.parse(await body(req)) as { ResetType?: unknown }).ResetType);
    } catch {
      return json(res, 400, { error: { message: 'the body is not JSON' } });
    }
    if (!['On', 'ForceOff', 'ForceRestart'].includes(reset))
      return json(res, 400, { error: { message: `ResetType ${reset}: On, ForceOff or ForceRestart` } });
    // Off is done when the machine is off; On when it has power: a BMC answers then and the machine
    // boots on its own (the provider's power on also waits for SSH, which a cut network never gives).
    const t0 = Date.now();
    say(`${name}: ${reset} asked by ${req.socket.remoteAddress}`);
    const off = () => power(lab, name, false);
    const boot = async () => {
      try {
        await power(lab, name, true);
        say(`${name}: booted and reachable ${Date.now() - t0} ms after ${reset} was asked`);
      } catch (e) {
        say(`${name}: powered on; ${(e as Error).message}`);
      } finally {
        booting.delete(name); // booted: the machine itself says whether it is on from now on
      }
    };
    const run = (busy.get(name) ?? Promise.resolve()).then(async () => {
      if (reset !== 'On') await off();
      if (reset !== 'ForceOff') booting.add(name);
    });
    // The machine's next action waits for the boot.
    busy.set(
      name,
      run.then(() => (reset === 'ForceOff' ? undefined : boot())).catch(() => undefined),
    );
    try {
      await run;
      say(`${name}: ${reset} done in ${Date.now() - t0} ms`);
      json(res, 204);
    } catch (e) {
      say(`${name}: ${reset} failed: ${(e as Error).message}`);
      json(res, 500, { error: { message: (e as Error).message } });
    }
  };
  const server = createServer(
    { key: readFileSync(f.key), cert: readFileSync(f.cert) },
    (req, res) => void handle(req, res).catch((e) => json(res, 500, { error: { message: String(e) } })),
  );
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(info.port, info.host, () => done());
  });
  writeFileSync(f.pid, `${process.pid}\n`);
  say(`listening on ${info.url} for ${lab.nodes.map((n) => n.name).join(', ')}`);
  await new Promise<void>((done) => {
    const stop = () => server.close(() => done());
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  say('stopped');
}

// One lab lifecycle above the providers (as kind's shared create/delete flow): what every lab keeps
// on this host — its state directory, SSH keys, pinned host keys, the provider's name, the resolved
// lab file — is made here, the same for every provider; a provider converges machines and links
// only. A first `up` that fails is rolled back; a later one says how to repair or remove the lab.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { stopBmc } from './bmc.ts';
import { readIf, writeAtomic } from './files.ts';
import { mgmt } from './hosts.ts';
import { labPaths } from './names.ts';
import type { DownResult, Progress, UpResult } from './provider.ts';
import { ProviderError } from './provider.ts';
import { getProvider } from './providers/index.ts';
import { ensureKey, knownHostsLine, publicKey } from './ssh.ts';
import { labJsonStale, providerOf, readFaults, saveLabJson, writeProviderName } from './state.ts';
import { type Lab, type LabHost, MANAGEMENT_INTERFACE } from './types.ts';

const silent: Progress = { step: () => {}, info: () => {} };

/** Machines reached over SSH on the management network: their host keys are made and pinned here. */
function sshHosts(lab: Lab): LabHost[] {
  return [...lab.nodes, lab.client].filter((h) => h.interfaces.some((i) => i.name === MANAGEMENT_INTERFACE));
}

/** Converges the lab to its lab file through its provider. Idempotent. */
export async function labUp(lab: Lab, progress: Progress, provider = getProvider(lab.provider)): Promise<UpResult> {
  const started = Date.now();
  const paths = labPaths(lab.name);
  await provider.preflight?.(lab, progress); // nothing of the lab exists yet if this fails
  const fresh = !existsSync(paths.dir);
  const changes: string[] = [];
  const apply = async (what: string, fn: () => Promise<unknown>) => {
    progress.step(what);
    try {
      await fn();
    } catch (e) {
      throw e instanceof ProviderError ? e : new ProviderError(provider.name, what, e);
    }
    changes.push(what);
  };
  try {
    if (!existsSync(paths.dir))
      await apply(`state directory ${paths.dir}`, async () =>
        mkdirSync(paths.hostKeys, { recursive: true, mode: 0o700 }),
      );
    if (providerOf(lab.name) !== provider.name)
      await apply('provider recorded (for lab:down)', async () => writeProviderName(lab.name, provider.name));
    // Machines l2lab builds get its keys; machines it did not build have their own (their provider pins them).
    if (provider.capabilities.builtByL2lab) {
      if (!existsSync(paths.clientKey))
        await apply('client SSH key', () => ensureKey(paths.clientKey, `l2lab-${lab.name}`));
      const hosts = sshHosts(lab);
      for (const h of hosts)
        if (!existsSync(paths.hostKey(h.name)))
          await apply(`host key of ${h.name}`, () => ensureKey(paths.hostKey(h.name), `${h.name}.${lab.name}.l2lab`));
      const known = `${hosts.map((h) => knownHostsLine(mgmt(h).ipv4, publicKey(`${paths.hostKey(h.name)}.pub`))).join('\n')}\n`;
      if (readIf(paths.knownHosts) !== known)
        await apply('known_hosts (pinned host keys)', async () => writeAtomic(paths.knownHosts, known, 0o600));
    }
    if (labJsonStale(lab)) await apply('lab.json (resolved lab file)', async () => saveLabJson(lab));
    await provider.converge(lab, { paths, progress, apply, faults: readFaults(lab) });
    // What a provider observed of its machines (MACs, addresses, host keys) is part of the lab from now on.
    if (labJsonStale(lab)) await apply('lab.json (what lab:up observed of the machines)', async () => saveLabJson(lab));
  } catch (e) {
    if (fresh) {
      progress.info('lab:up failed on a new lab; removing what it created');
      await labDown(lab.name, silent, provider).catch(() => {});
      throw new Error(`${(e as Error).message}\nNothing was left behind (rolled back).`, { cause: e });
    }
    throw new Error(
      `${(e as Error).message}\nlab:up did not finish, so the lab may be incomplete: \`l2lab lab up --lab ${lab.file}\` ` +
        `repairs it (it picks up where it stopped); \`l2lab lab down --lab ${lab.file}\` removes all of it.`,
      { cause: e },
    );
  }
  return { changes, elapsedMs: Date.now() - started };
}

/**
 * Removes everything of the lab named, by name only (also after a crash, without its lab file):
 * the provider recorded at `up` removes its machines and links, then the state directory goes.
 */
export async function labDown(
  name: string,
  progress: Progress,
  provider = getProvider(providerOf(name) ?? 'netns'),
): Promise<DownResult> {
  const started = Date.now();
  const paths = labPaths(name);
  const removed = stopBmc(name); // before its machines: it could power one on meanwhile
  removed.push(...(await provider.remove(name, { paths, progress })));
  if (existsSync(paths.dir)) {
    rmSync(paths.dir, { recursive: true, force: true });
    progress.step(`state ${paths.dir}`);
    removed.push(`directory ${paths.dir}`);
  }
  return { removed, elapsedMs: Date.now() - started };
}

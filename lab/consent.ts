// Faults on machines l2lab did not build (a user's own cluster) run only with consent: `--yes`,
// or a person who read every machine and command and said yes. `--dry-run` shows the same
// commands and runs none.
import { createInterface } from 'node:readline/promises';
import type { Primitives } from './faults/fault.ts';
import { carrierCommands, serviceArgv } from './providers/hosts/config.ts';
import { shq } from './quote.ts';
import type { Lab } from './types.ts';
import { UsageError } from './validation.ts';

/** Every machine a fault may act on and the commands it may run there; none on labs l2lab built. */
export function faultCommands(lab: Lab): string[] {
  if (!lab.hosts) return [];
  const h = lab.hosts;
  return lab.nodes.map((n) => {
    const m = h.machines[n.name]!;
    const at = `${m.user}@${m.ssh}${m.port === 22 ? '' : `:${m.port}`}`;
    return [
      `${n.name} (${at}):`,
      m.power
        ? `power off: ${m.power.off}; power on: ${m.power.on} (on this machine)`
        : 'no power commands (power faults skipped)',
      `link down: ip link set dev ${m.nic} down over SSH, back up by itself after ${h.carrierUndoS} s unless undone first`,
      m.service
        ? `announcer faults over SSH: stop: ${m.service.stop}; start: ${m.service.start}; signal: ${m.service.signal}`
        : 'announcer faults: /etc/l2lab/bin/l2l-service stop|start|signal SERVICE over SSH',
    ].join('\n    ');
  });
}

/**
 * Consent before faults on machines l2lab did not build: `--yes`, or an interactive yes after
 * the list; without a terminal and without --yes, bad input (exit 2) and nothing is done.
 */
export async function confirmFaults(lab: Lab, yes: boolean | undefined, what: string): Promise<void> {
  const lines = faultCommands(lab);
  if (!lines.length || yes) return;
  const list = `  ${lines.join('\n  ')}`;
  if (!process.stdin.isTTY)
    throw new UsageError(
      `lab ${lab.name}'s machines were not built by l2lab, and ${what} runs faults on them:\n${list}\n` +
        'pass --yes to allow it (--dry-run on lab fault shows the commands)',
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(`${what} runs faults on machines l2lab did not build:\n${list}\nGo ahead? [y/N] `);
    if (!/^y(es)?$/i.test(a.trim())) throw new UsageError('not confirmed: nothing was done');
  } finally {
    rl.close();
  }
}

/** Primitives that say what they would run and run nothing (lab fault --dry-run). */
export function dryRun(lab: Lab, say: (line: string) => void): Primitives {
  const m = (host: string) => lab.hosts?.machines[host];
  const where = (host: string) => {
    const x = m(host);
    return x ? `ssh ${x.user}@${x.ssh}` : `on ${host}`;
  };
  return {
    async exec(_lab, host, argv) {
      say(`${where(host)}: ${argv.map(shq).join(' ')}`);
      return { stdout: '', stderr: '', exitCode: 0 };
    },
    async power(_lab, host, on) {
      const p = m(host)?.power;
      say(`power ${on ? 'on' : 'off'} ${host}: ${p ? `${on ? p.on : p.off} (on this machine)` : "the provider's own"}`);
    },
    async service(_lab, host, args) {
      say(
        `${where(host)}: ${serviceArgv(m(host) ?? {}, args)
          .map(shq)
          .join(' ')}`,
      );
      return { stdout: '', stderr: '', exitCode: 0 };
    },
    async carrier(_lab, host, iface, up) {
      if (!m(host) || !lab.hosts) {
        say(`cable of ${host} ${iface} ${up ? 'plugged back' : 'pulled'}`);
        return;
      }
      const c = carrierCommands(lab.hosts, host, iface);
      for (const line of up ? [c.up] : [c.armUndo, c.down]) say(`${where(host)}: ${line}`);
    },
    async nic(_lab, host, iface, present) {
      say(`${host} ${iface} ${present ? 'plugged in again and configured (hot-plug)' : 'taken out (hot-unplug)'}`);
    },
  };
}

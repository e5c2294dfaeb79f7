// Faults on a node service go through l2l-service on the machine (every provider has exec), or
// the provider's own service primitive (commands a hosts file declares). l2l-service prints
// "effective-at <ns>" on the machine's clock as it sends a signal.
import type { Lab } from '../types.ts';
import type { Primitives } from './fault.ts';

export async function serviceCall(io: Primitives, lab: Lab, node: string, args: string[]): Promise<number | undefined> {
  const r = io.service
    ? await io.service(lab, node, args)
    : await io.exec(lab, node, ['/etc/l2lab/bin/l2l-service', ...args]);
  if (r.exitCode !== 0)
    throw new Error(
      `${io.service ? 'service' : 'l2l-service'} ${args.join(' ')} on ${node} failed (exit ${r.exitCode}): ` +
        (r.stderr || r.stdout).trim(),
    );
  const m = /^effective-at (\d+)$/m.exec(r.stdout);
  if (!m) return undefined;
  const at = Number(BigInt(m[1]!) / 1000n) / 1000;
  return io.hostTime ? io.hostTime(lab, node, at) : at;
}

/**
 * An undo's call (start, resume). A machine power-cycled meanwhile by someone else — a fencing
 * subject's peer through the lab's BMC — has nothing left to undo: it is off (it starts its enabled
 * services when powered on; the suite then waits for the subject to be ready there) or booting
 * (waited for, then the call once more). Told apart by the hypervisor's power state, where the
 * provider has one; elsewhere the call's failure stands (on a booted machine, at once).
 */
export async function serviceUndo(io: Primitives, lab: Lab, node: string, args: string[]): Promise<void> {
  try {
    await serviceCall(io, lab, node, args);
  } catch (e) {
    if (!io.powered || !io.booted) throw e;
    if (!(await io.powered(lab, node))) return;
    await io.booted(lab, node);
    await serviceCall(io, lab, node, args);
  }
}

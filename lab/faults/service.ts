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

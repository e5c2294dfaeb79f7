// The fault registry: every kind the lab can inject, one plug-in file each. A new fault is
// one file and one line here; lab:fault, faults.json and the conformance suite read this list.
import { readFaults, writeFaults } from '../state.ts';
import type { Lab } from '../types.ts';
import { issueLines } from '../validation.ts';
import { type Fault, type FaultPlugin, type Held, hasPrimitive, MissingPrimitive, type Primitives } from './fault.ts';
import gracefulStop from './graceful-stop.ts';
import linkDown from './link-down.ts';
import networkOff from './network-off.ts';
import nicRemove from './nic-remove.ts';
import pause from './pause.ts';
import powerOff from './power-off.ts';
import processStop from './process-stop.ts';
import relabel from './relabel.ts';
import switchDown from './switch-down.ts';

export type { Fault, FaultPlugin, Held, Lease, Primitive, Primitives } from './fault.ts';
export { hasPrimitive, MissingPrimitive } from './fault.ts';

export const faultPlugins: FaultPlugin[] = [
  powerOff,
  linkDown,
  networkOff,
  processStop,
  pause,
  gracefulStop,
  relabel,
  switchDown,
  nicRemove,
];

export class FaultError extends Error {}

export const faultKinds = (): string[] => faultPlugins.map((f) => f.kind);
/** The kinds a failover trial can inject on a subject's holder. */
export const trialFaultKinds = (): string[] => faultPlugins.filter((f) => f.trial).map((f) => f.kind);

export function faultPlugin(kind: string): FaultPlugin {
  const f = faultPlugins.find((x) => x.kind === kind);
  if (!f) throw new FaultError(`unknown fault kind "${kind}"; kinds: ${faultKinds().join(', ')}`);
  return f;
}

/** A fault checked against its kind's parameters (from a command line, faults.json or a check). */
export function checkFault(f: Fault): { plugin: FaultPlugin; params: Record<string, string | undefined> } {
  const plugin = faultPlugin(f.kind);
  const { kind: _k, node: _n, ...rest } = f;
  const r = plugin.params.safeParse(rest);
  if (!r.success) {
    const what = issueLines(r.error, { top: '(parameters)' }).join('; ');
    const words = plugin.args.map((a) => a.name.toUpperCase()).join(' ');
    throw new FaultError(
      `fault ${f.kind} on ${f.node}: ${what} (lab:fault inject ${f.kind} NODE${words ? ` ${words}` : ''})`,
    );
  }
  return { plugin, params: r.data };
}

export function describeFault(f: Fault): string {
  if (!faultPlugins.some((x) => x.kind === f.kind)) return `${f.kind} on ${f.node} (a kind this l2lab does not know)`;
  const { plugin, params } = checkFault(f);
  return plugin.describe(f.node, params);
}

/** The same fault in force: kind, node and the words that name what it acts on (not its options). */
export function sameFault(a: Fault, b: Fault): boolean {
  if (a.kind !== b.kind || a.node !== b.node) return false;
  const p = faultPlugins.find((x) => x.kind === a.kind);
  return (p?.args ?? []).every((x) => a[x.name] === b[x.name]);
}

/** MissingPrimitive if the provider lacks a primitive the fault kind needs. */
export function needPrimitives(io: Primitives, kind: string, lab: Lab): void {
  const lacking = faultPlugin(kind).primitives.find((p) => !hasPrimitive(io, lab, p));
  if (lacking) throw new MissingPrimitive(kind, lacking);
}

/** Injects and records the fault; returns when it took effect (ms, this machine's clock), where known. */
export async function injectFault(io: Primitives, lab: Lab, f: Fault): Promise<number | undefined> {
  const { plugin, params } = checkFault(f);
  needPrimitives(io, f.kind, lab); // before anything is touched
  const at = await plugin.inject(io, lab, f.node, params);
  writeFaults(lab, [...readFaults(lab).filter((x) => !sameFault(x, f)), f]);
  return at;
}

export async function undoFault(io: Primitives, lab: Lab, f: Fault): Promise<void> {
  const { plugin, params } = checkFault(f);
  await plugin.undo(io, lab, f.node, params);
  writeFaults(
    lab,
    readFaults(lab).filter((x) => !sameFault(x, f)),
  );
}

/** What the faults in force keep as it is on one machine (lab:up leaves it alone). */
export function heldOn(faults: Fault[], host: string, lab?: Lab): Required<Held> {
  const out: Required<Held> = { powerOff: false, unplugged: [], absent: [], stopped: [] };
  for (const f of faults) {
    const p = faultPlugins.find((x) => x.kind === f.kind);
    if (!p) continue; // recorded by another l2lab version: nothing known to keep
    if (p.scope !== 'switch' && f.node !== host) continue;
    const h = p.held(checkFault(f).params, f.node, lab);
    out.powerOff ||= h.powerOff ?? false;
    out.unplugged.push(...(h.unplugged ?? []));
    out.absent.push(...(h.absent ?? []));
    out.stopped.push(...(h.stopped ?? []));
  }
  return out;
}

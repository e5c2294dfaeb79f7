// The node leaves the announcement policy: one of its labels is changed where the lab keeps node
// labels (the cluster's Node, else the lab store), so that the policy's nodeSelector no longer
// matches. Cilium #32148: the lease stayed on a drained node. Undo restores the lab file's label.
import { z } from 'zod';
import { matches } from '../selector.ts';
import type { Lab } from '../types.ts';
import { afterLeaseExpiry, defineFault, type Primitives } from './fault.ts';

const labelArg = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?(=[A-Za-z0-9._-]*|-)$/, 'KEY=VALUE (set) or KEY- (remove)');

/** The label change that takes `node` out of the lab's policy, as kubectl label takes it. */
export function leavePolicy(lab: Lab, node: string): string {
  const labels = lab.nodes.find((n) => n.name === node)?.labels ?? {};
  const sel = lab.policy.nodeSelector;
  if (!matches(sel, labels)) throw new Error(`relabel: ${node} is not in the policy (nodeSelector) to begin with`);
  const keys = [
    ...Object.keys(sel?.matchLabels ?? {}),
    ...(sel?.matchExpressions ?? []).filter((r) => r.operator === 'In' || r.operator === 'Exists').map((r) => r.key),
  ].filter((k) => k in labels);
  for (const k of keys) {
    const { [k]: _, ...rest } = labels;
    if (!matches(sel, rest)) return `${k}-`;
  }
  throw new Error(
    `relabel: removing none of ${node}'s labels (${Object.keys(labels).join(', ') || 'none'}) takes it out of policy.nodeSelector; give ` +
      `a nodeSelector with matchLabels or an In/Exists expression on a label the node has`,
  );
}

/** Where the lab keeps node labels: l2l-label on the first control plane. */
async function label(io: Primitives, lab: Lab, node: string, arg: string): Promise<void> {
  const cp = lab.nodes.find((n) => n.role === 'control-plane');
  if (!cp) throw new Error('relabel: the lab has no control plane (where node labels are kept)');
  const r = await io.exec(lab, cp.name, ['/etc/l2lab/bin/l2l-label', node, arg], { timeoutMs: 15_000 });
  if (r.exitCode !== 0) throw new Error(`l2l-label ${node} ${arg} on ${cp.name}: ${(r.stderr || r.stdout).trim()}`);
}

export default defineFault({
  kind: 'relabel',
  primitives: [],
  description:
    "a node label set (KEY=VALUE) or removed (KEY-) as kubectl label; in a trial, so that the holder leaves the policy's nodeSelector; " +
    "undo gives back the lab file's label",
  args: [
    { name: 'label', help: 'KEY- removes a label, KEY=VALUE sets one (as kubectl label)', example: 'datacenter-' },
  ],
  params: z.strictObject({ label: labelArg }),
  describe: (node, p) => `relabel ${node}: ${p.label}`,
  // A node that notices at once lets go; one that only stops renewing is taken over at expiry.
  budget: afterLeaseExpiry,
  trial: { params: (_service, lab, node) => ({ label: leavePolicy(lab, node) }), needs: ['node-labels'] },
  held: () => ({}),
  inject: async (io, lab, node, p) => {
    await label(io, lab, node, p.label);
    return undefined;
  },
  undo: async (io, lab, node, p) => {
    const key = p.label.replace(/(=.*|-)$/, '');
    const was = lab.nodes.find((n) => n.name === node)?.labels[key];
    await label(io, lab, node, was === undefined ? `${key}-` : `${key}=${was}`);
  },
});

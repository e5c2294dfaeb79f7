// Kubernetes label selectors (metav1.LabelSelector), as Cilium's policy and pool use them.
import { z } from 'zod';

export const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export const requirementSchema = z
  .strictObject({
    key: z.string().min(1),
    operator: z.enum(selectorOperators),
    values: z.array(z.string()).optional(),
  })
  .superRefine((r, ctx) => {
    const needsValues = r.operator === 'In' || r.operator === 'NotIn';
    if (needsValues && !r.values?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['values'],
        message: `operator ${r.operator} needs a non-empty values list`,
      });
    if (!needsValues && r.values?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['values'],
        message: `operator ${r.operator} takes no values; remove values`,
      });
  });

export const selectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(requirementSchema).optional(),
});

export type LabelSelector = z.infer<typeof selectorSchema>;
export type Labels = Record<string, string>;

/** An absent selector matches everything; an empty one ({}) too, as in Kubernetes. */
export function matches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'In':
        if (!has || !r.values!.includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && r.values!.includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default: {
        const never: never = r.operator;
        throw new Error(`unknown operator ${String(never)}`);
      }
    }
  }
  return true;
}

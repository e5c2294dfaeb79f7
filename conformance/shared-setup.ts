// The shared-ip check's services, as a subject's install gets them (playbook variable `shared`):
// the Gateway's address shared through a sharing key, and carried by a service announced by a
// policy of its own, which a node leaves by one label.
import type { LabelSelector } from '../lab/selector.ts';
import type { Lab } from '../lab/types.ts';
import type { Vip } from './addresses/index.ts';

/** What a subject's install gets for the shared-ip check (playbook variable `shared`). */
export interface SharedSetup {
  /** The LB-IPAM sharing key of the Gateway and the service that shares its address. */
  sharingKey: string;
  /** The service carrying the Gateway's address as an external IP, and its policy's nodeSelector. */
  pinned?: { addresses: string[]; nodeSelector: LabelSelector };
}

/** The label a node leaves the shared-ip check's own policy by (the lab's nodeSelector, and not this). */
export const NO_SHARED_LABEL = 'l2lab.io/no-shared';
export const SHARING_KEY = 'l2lab-shared';

export function sharedSetup(lab: Lab, main: Vip): SharedSetup {
  const sel = lab.policy.nodeSelector ?? {};
  return {
    sharingKey: SHARING_KEY,
    pinned: {
      addresses: [main.ipv4, main.ipv6].filter((a): a is string => !!a),
      nodeSelector: {
        ...sel,
        matchExpressions: [...(sel.matchExpressions ?? []), { key: NO_SHARED_LABEL, operator: 'DoesNotExist' }],
      },
    },
  };
}

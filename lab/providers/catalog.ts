// Provider names and what their machines are like, without loading any provider: the lab
// file, inventories and the cluster path read this; providers/index.ts builds them.
import type { Capabilities } from '../provider.ts';

export const providerCapabilities: Record<string, Capabilities> = {
  netns: {
    sharedFilesystem: true,
    checkoutOnMachines: true,
    sharedPackages: true,
    ownKernel: false,
    clientManagement: false,
  },
  vagrant: {
    sharedFilesystem: false,
    checkoutOnMachines: true,
    sharedPackages: false,
    ownKernel: true,
    clientManagement: true,
  },
};

export const providerNames = (): string[] => Object.keys(providerCapabilities);

export function capabilitiesOf(provider: string): Capabilities {
  const c = providerCapabilities[provider];
  if (!c) throw new Error(`unknown provider "${provider}"; valid providers: ${providerNames().join(', ')}`);
  return c;
}

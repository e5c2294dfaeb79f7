// The netns provider's entry (lab/providers/catalog.ts lists it): what its machines are like.
// Every machine is a set of namespaces on this host; it has no settings of its own in the lab file.
import type { Capabilities } from '../../provider.ts';

export const capabilities: Capabilities = {
  sharedFilesystem: true,
  checkoutOnMachines: true,
  sharedPackages: true,
  ownKernel: false,
  clientManagement: false,
  builtByL2lab: true,
};

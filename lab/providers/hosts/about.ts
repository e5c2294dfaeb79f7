// The hosts provider's entry (lab/providers/catalog.ts lists it): machines l2lab did not build,
// reached over SSH. Its lab file settings (`hosts:`) and their validation are in config.ts.
import type { Capabilities } from '../../provider.ts';

export const capabilities: Capabilities = {
  sharedFilesystem: false,
  checkoutOnMachines: false,
  sharedPackages: false,
  ownKernel: true,
  clientManagement: true,
  builtByL2lab: false,
};

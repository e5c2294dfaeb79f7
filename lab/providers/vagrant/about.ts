// The vagrant provider's entry (lab/providers/catalog.ts lists it): what its machines are like.
// Its lab file settings (`vagrant:`, a machine's `vm:`) and their validation are in config.ts.
import type { Capabilities } from '../../provider.ts';

export const capabilities: Capabilities = {
  sharedFilesystem: false,
  checkoutOnMachines: true,
  sharedPackages: false,
  ownKernel: true,
  clientManagement: true,
  builtByL2lab: true,
};

// Provider registry: the lab file's `provider` names one of these (names: catalog.ts).
import type { Provider } from '../provider.ts';
import { capabilitiesOf } from './catalog.ts';
import { HostsProvider } from './hosts/index.ts';
import { NetnsProvider } from './netns/index.ts';
import { VagrantProvider } from './vagrant/index.ts';

const registry: Record<string, () => Provider> = {
  netns: () => new NetnsProvider(),
  vagrant: () => new VagrantProvider(),
  hosts: () => new HostsProvider(),
};

export { providerNames } from './catalog.ts';

export function getProvider(name: string): Provider {
  capabilitiesOf(name); // an unknown name: the error lists the valid ones
  return registry[name]!();
}

// Provider registry: the lab file's `provider` names one of these.
import type { Provider } from '../provider.ts';
import { NetnsProvider } from './netns.ts';
import { VagrantProvider } from './vagrant.ts';

const registry: Record<string, () => Provider> = {
  netns: () => new NetnsProvider(),
  vagrant: () => new VagrantProvider(),
};

export function providerNames(): string[] {
  return Object.keys(registry);
}

export function getProvider(name: string): Provider {
  const make = registry[name];
  if (!make) throw new Error(`unknown provider "${name}"; valid providers: ${providerNames().join(', ')}`);
  return make();
}

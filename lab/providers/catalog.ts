// Provider names and what their machines are like, without loading any provider: the lab
// file, inventories and the cluster path read this; providers/index.ts builds them.
import type { Capabilities } from '../provider.ts';
import { capabilities as hosts } from './hosts/about.ts';
import { capabilities as netns } from './netns/about.ts';
import { capabilities as vagrant } from './vagrant/about.ts';

/** One entry per provider, from its folder's about.ts (light: no provider code loads with it). */
export const providerCapabilities: Record<string, Capabilities> = {
  netns: netns,
  vagrant: vagrant,
  hosts: hosts,
};

export const providerNames = (): string[] => Object.keys(providerCapabilities);

export function capabilitiesOf(provider: string): Capabilities {
  const c = providerCapabilities[provider];
  if (!c) throw new Error(`unknown provider "${provider}"; valid providers: ${providerNames().join(', ')}`);
  return c;
}

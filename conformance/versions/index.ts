// Version axes: one file each; a new one is a file and a line here.
import type { VersionAxis } from './axis.ts';
import ciliumChart from './cilium-chart.ts';

export type { VersionAxis } from './axis.ts';

export const versionAxes: VersionAxis[] = [ciliumChart];
export const versionAxisNames = (): [string, ...string[]] => versionAxes.map((a) => a.name) as [string, ...string[]];

export function versionAxis(name: string): VersionAxis {
  const a = versionAxes.find((x) => x.name === name);
  if (!a) throw new Error(`unknown version axis "${name}"; axes: ${versionAxisNames().join(', ')}`);
  return a;
}

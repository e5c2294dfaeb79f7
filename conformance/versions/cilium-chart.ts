// Cilium's released charts: the cluster is upgraded in place (the Gateway API CRDs that version
// takes, then Cilium), as `npm run cluster -- upgrade` does.
import { clusterUp } from '../../playbooks/cluster/up.ts';
import { upgradeProblem } from '../../playbooks/cluster/versions.ts';
import type { VersionAxis } from './axis.ts';

const ciliumChart: VersionAxis = {
  name: 'cilium-chart',
  about: "Cilium's released charts, the cluster upgraded in place (Gateway API CRDs, then Cilium)",
  problem: upgradeProblem,
  async moveTo(lab, version, progress) {
    progress(`Cilium ${version}: upgrading the cluster in place (npm run cluster -- upgrade)`);
    if (!(await clusterUp(lab, { ciliumVersion: version, tags: ['gateway-api', 'cilium'] })).ok)
      throw new Error(`upgrading Cilium to ${version} failed (above)`);
  },
};
export default ciliumChart;

// bmc: the lab's BMC running on the controller (lab/bmc.ts), as a fence device needs it; returns
// where it is (host, port, user, password, url, systems: each node's Redfish System). Started
// unless it runs (changed); check mode starts nothing. For labs l2lab built: machines it did not
// build have BMCs of their own, which their hosts file names.
import { z } from 'zod';
import { bmcInfo, ensureBmc, runningBmc } from '../../lab/bmc.ts';
import { findLab } from '../../lab/find-lab.ts';
import { defineModule, failed } from '../module.ts';

export default defineModule({
  name: 'bmc',
  args: z.strictObject({}),
  async run(ctx) {
    const name = (ctx.host.vars.l2lab_lab as { name?: string } | undefined)?.name;
    if (!name) return failed('no lab in the inventory (l2lab_lab): the BMC serves labs l2lab built');
    let lab: ReturnType<typeof findLab>;
    try {
      lab = findLab({ name });
    } catch (e) {
      return failed((e as Error).message);
    }
    if (!lab.management.hostAddress)
      return failed(
        `lab ${name} has no address of this host on its management network: no BMC of l2lab's can serve it`,
      );
    const running = await runningBmc(lab);
    if (running) return { changed: false, ...running };
    if (ctx.check) return { changed: true, ...bmcInfo(lab, '(made when it starts)'), msg: 'would start the BMC' };
    try {
      const { bmc } = await ensureBmc(lab);
      return { changed: true, ...bmc, msg: `started ${bmc.url}` };
    } catch (e) {
      return failed((e as Error).message);
    }
  },
});

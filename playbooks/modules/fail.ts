// fail: ends the host's play with a message, as Ansible's fail does — with `when`, the way a
// playbook says why a step went wrong (e.g. a service's log after it did not come up). It changes
// nothing, so it fails in check mode too.
import { z } from 'zod';
import { defineModule, failed } from '../module.ts';

export default defineModule({
  name: 'fail',
  args: z.strictObject({ msg: z.string().min(1).default('Failed as requested from task') }),
  async run(_ctx, a) {
    return failed(a.msg);
  },
});

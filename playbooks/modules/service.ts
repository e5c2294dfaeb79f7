// service: started/stopped/restarted/reloaded and enabled, through l2l-service (l2lab's daemon
// manager) where /etc/l2lab/services/NAME.service defines it, otherwise through systemd.
import { z } from 'zod';
import { q } from '../connection.ts';
import { defineModule, failed } from '../module.ts';

const L2L = '/etc/l2lab/bin/l2l-service';
const VERB = { started: 'start', stopped: 'stop', restarted: 'restart', reloaded: 'reload' } as const;

export default defineModule({
  name: 'service',
  args: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9@_.-]+$/, 'a service name'),
    state: z.enum(['started', 'stopped', 'restarted', 'reloaded']).optional(),
    enabled: z.boolean().optional(),
  }),
  async run(ctx, a) {
    if (!a.state && a.enabled === undefined) return failed('give state and/or enabled');
    const pid1 = ctx.facts
      ? ctx.facts.service_mgr === 'systemd'
      : (await ctx.conn.run('cat /proc/1/comm')).stdout.trim() === 'systemd';
    const n = q(a.name);
    const def = `/etc/l2lab/services/${a.name}.service`;
    // l2lab's own service definitions win on every machine (VMs run systemd too); else systemd's units.
    const probe =
      `if [ -f ${q(def)} ]; then echo l2l; ${L2L} status ${n} >/dev/null 2>&1 && echo running || echo stopped; grep -q '^ENABLED=yes' ` +
      `${q(def)} && echo enabled || echo disabled; ` +
      (pid1
        ? `elif systemctl cat ${n} >/dev/null 2>&1; then echo systemd; systemctl is-active -q ${n} && echo running || echo stopped; ` +
          `systemctl is-enabled -q ${n} && echo enabled || echo disabled; `
        : '') +
      'else exit 4; fi';
    const r = await ctx.conn.run(probe, { become: ctx.become });
    // Check mode: the unit may come with a package an earlier task would install.
    if (r.rc === 4 && ctx.check)
      return {
        changed: true,
        msg:
          `would ${VERB[a.state ?? 'started']}${a.enabled ? ' and enable' : ''} ${a.name} ` +
          "(not installed yet: from an earlier task's package?)",
      };
    if (r.rc === 4)
      return failed(
        `no service "${a.name}" on ${ctx.host.name} (${pid1 ? `neither ${def} nor a systemd unit` : `${def} missing`})`,
      );
    const [mgr, running, enabled] = r.stdout.trim().split('\n');
    const systemd = mgr === 'systemd';
    const steps: string[] = [],
      why: string[] = [];
    const ctl = (verb: string) =>
      systemd ? `systemctl ${verb} ${n}` : verb === 'reload' ? `${L2L} signal ${n} HUP` : `${L2L} ${verb} ${n}`;
    if (a.enabled !== undefined && (enabled === 'enabled') !== a.enabled) {
      steps.push(ctl(a.enabled ? 'enable' : 'disable'));
      why.push(a.enabled ? 'enable' : 'disable');
    }
    if (a.state === 'started' && running !== 'running') {
      steps.push(ctl('start'));
      why.push('start');
    }
    if (a.state === 'stopped' && running === 'running') {
      steps.push(ctl('stop'));
      why.push('stop');
    }
    if (a.state === 'restarted') {
      steps.push(ctl('restart'));
      why.push('restart');
    }
    if (a.state === 'reloaded') {
      steps.push(running === 'running' ? ctl('reload') : ctl('start'));
      why.push(running === 'running' ? 'reload' : 'start');
    }
    const result = { changed: steps.length > 0, msg: why.join(', ') || undefined, state: a.state, status: running };
    if (!steps.length || ctx.check) return result;
    const out = await ctx.conn.run(steps.join(' && '), { become: ctx.become });
    return out.rc === 0
      ? result
      : failed(`${why.join(', ')} ${a.name} failed (rc ${out.rc}): ${(out.stderr || out.stdout).trim()}`, {
          rc: out.rc,
        });
  },
});

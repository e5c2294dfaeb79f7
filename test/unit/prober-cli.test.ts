// The prober as a command: listening only (quiet-switch's windows) it sends nothing, so it needs
// no VIP to ask for and no address rotation; it captures and ends at its duration. On loopback.
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { buildBundles } from '../../conformance/bundles.ts';
import { repo } from '../helpers.ts';

test.before(() => buildBundles());

test('the prober listening only: no --vip needed, nothing sent, a capture that ends at its duration', async (t) => {
  const probe = (...a: string[]) =>
    execa(
      'node',
      [join(repo, 'dist', 'probe.mjs'), '--iface', 'lo', '--mac', '02:00:00:00:00:01', '--ipv4', '127.0.0.9', ...a],
      {
        reject: false,
        timeout: 15_000,
      },
    );
  const r = await probe('--listen-only', '--duration-ms', '300');
  t.is(r.exitCode, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ended: string; events: { kind: string }[] };
  t.is(out.ended, 'duration');
  t.false(
    out.events.some((e) => e.kind === 'arp-request' || e.kind === 'ns'),
    'nothing asked',
  );
  const asking = await probe('--duration-ms', '300');
  t.is(asking.exitCode, 2, 'asking needs the VIPs to ask for');
  t.regex(asking.stderr, /--vip is required/);
});

// A domain NIC without addresses of its own (cilium/cilium #41641): the lab builds it as the lab
// file says (domains[].nodeAddresses), and unnumbered-nic reports the half-working state — ARP
// answered on it, IPv4 HTTP not — for a NIC with only IPv6 and one with none but link-local.
import test from 'ava';
import { loadLab } from '../../lab/labfile.ts';
import { labUp } from '../../lab/lifecycle.ts';
import { labFile, netns, oneCheck, ownLab, quiet } from '../helpers.ts';

const lab = loadLab(
  labFile(
    'tunnum',
    133,
    (doc) => {
      const domains = doc.domains as { nodeAddresses?: Record<string, string> }[];
      domains[0]!.nodeAddresses = { node01: 'ipv6' }; // red: node01 and node02
      domains[1]!.nodeAddresses = { node03: 'none' }; // blue: node02 and node03
    },
    'labs/domains.yaml',
  ),
);

ownLab(lab);

test.serial('nodeAddresses: the NIC carries only IPv6, or nothing but its link-local address', async (t) => {
  await labUp(lab, quiet, netns);
  const addrs = async (node: string, nic: string) =>
    (await netns.exec(lab, node, ['ip', '-br', 'addr', 'show', nic])).stdout.trim().split(/\s+/).slice(2);
  t.true((await addrs('node01', 'eth2')).includes('fd4c:3200:18:100::12/64'), 'node01 eth2: its IPv6 address');
  t.false(
    (await addrs('node01', 'eth2')).some((a) => a.includes('.')),
    'node01 eth2: no IPv4 address',
  );
  t.true(
    (await addrs('node03', 'eth3')).every((a) => a.startsWith('fe80::')),
    'node03 eth3: link-local only',
  );
  t.true((await addrs('node02', 'eth3')).includes('198.18.200.13/24'), 'node02 keeps its addresses');
  t.deepEqual((await labUp(lab, quiet, netns)).changes, [], 'lab:up puts no address back');
});

test.serial('unnumbered-nic reports ARP answered and HTTP lost where the NIC has no IPv4 address', async (t) => {
  const c = await oneCheck(t, lab, 'reference', 'unnumbered-nic');
  t.is(c.status, 'info', c.reason);
  const text = c.details.join('\n');
  // red: node01 (IPv6 only) made the holder; ARP answered, IPv4 HTTP lost, IPv6 HTTP answered
  t.regex(
    text,
    /domain red: 198\.18\.100\.\d+ ARP answered by node01\/eth2 \(node01.s eth2: no IPv4 address\); HTTP .*: no answer in \d+ ms/,
  );
  t.regex(
    text,
    /domain red: fd4c:3200:18:100::[\d:a-f]+ NDP answered by node01\/eth2 .*HTTP from the client on eth2: answered by node01/,
  );
  // blue: node03 (link-local only): answered at L2 in both families, HTTP in neither
  t.regex(
    text,
    /domain blue: 198\.18\.200\.\d+ ARP answered by node03\/eth3 \(node03's eth3: no address but link-local\); .*no answer/,
  );
  t.regex(text, /domain blue: fd4c:3200:18:200::[\d:a-f]+ NDP answered by node03\/eth3 .*no answer .*unusable at L3/);
  t.is(c.figures['red.arp.answered'], 1);
  t.is(c.figures['red.arp.http_ms'], null);
  t.true((c.figures['red.ndp.http_ms'] as number) >= 0);
});

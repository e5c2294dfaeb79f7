import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { parse, stringify } from 'yaml';
import { asHostsFile } from '../../lab/as-hosts.ts';
import { controlPlane, mgmt } from '../../lab/hosts.ts';
import { cidrRange, formatIp, parseCidr, parseIp } from '../../lab/ip.ts';
import { LabFileError, loadLab, parseLab } from '../../lab/labfile.ts';
import { getProvider } from '../../lab/providers/index.ts';
import { matches } from '../../lab/selector.ts';
import type { HostStatus, LabHost, LabStatus } from '../../lab/types.ts';
import { UsageError } from '../../lab/validation.ts';
import { labFile, repo } from '../helpers.ts';

const defaultText = readFileSync(join(repo, 'lab.yaml'), 'utf8');

test('the default lab mirrors the tutorial', (t) => {
  const lab = loadLab(join(repo, 'lab.yaml'));
  t.is(lab.provider, 'netns');
  t.deepEqual(
    lab.nodes.map((n) => [n.name, n.role]),
    [
      ['cp01', 'control-plane'],
      ['node01', 'worker'],
      ['node02', 'worker'],
      ['node03', 'worker'],
    ],
  );
  t.deepEqual(
    lab.nodes.slice(1).map((n) => n.labels.datacenter),
    ['dc1', 'dc2', 'dc3'],
  );
  // Only dc1 and dc2 may announce: node03 must never answer.
  t.deepEqual(
    lab.nodes.filter((n) => matches(lab.policy.nodeSelector, n.labels)).map((n) => n.name),
    ['node01', 'node02'],
  );
  t.deepEqual(lab.lease, { durationMs: 15000, renewDeadlineMs: 5000, retryPeriodMs: 2000 });
  const eth1 = lab.nodes[1]!.interfaces.find((i) => i.name === 'eth1')!;
  t.is(eth1.ipv4, '198.18.0.12');
  t.is(eth1.ipv6, 'fd4c:3200:18::12');
  t.regex(eth1.mac, /^02:4c:[0-9a-f]{2}:[0-9a-f]{2}:01:02$/);
  t.is(lab.client.interfaces.length, 1, 'the client is on the switch only');
  t.is(lab.management.hostAddress, '198.19.0.1');
  t.true(lab.management.ipv4.startsWith('198.1'), 'management defaults to the benchmarking range');
  // Same lab file, same MACs: they are derived, not random.
  t.deepEqual(
    loadLab(join(repo, 'lab.yaml')).nodes.map((n) => n.interfaces),
    lab.nodes.map((n) => n.interfaces),
  );
});

function mutate(edit: (doc: any) => void): string {
  const doc = parse(defaultText);
  edit(doc);
  return stringify(doc);
}

function problems(text: string): { path: string; message: string }[] {
  try {
    parseLab(text, 'bad.yaml');
  } catch (e) {
    if (e instanceof LabFileError) return e.problems;
    throw e;
  }
  throw new Error('the lab file was accepted');
}

const bad: [string, (doc: any) => void, string, RegExp][] = [
  [
    'unknown key',
    (d) => {
      d.nodes[2].labls = { datacenter: 'dc2' };
    },
    'nodes[2]',
    /unknown key "labls".*valid keys: name, role, labels/,
  ],
  [
    'duplicate node name',
    (d) => {
      d.nodes[3].name = 'node01';
    },
    'nodes[3].name',
    /duplicate name "node01"/,
  ],
  [
    'name too long for an interface',
    (d) => {
      d.nodes[1].name = 'a-very-long-node-name';
    },
    'nodes[1].name',
    /at most 15/,
  ],
  [
    'lab name too long for host links',
    (d) => {
      d.name = 'tutorial';
    },
    'name',
    /at most 7.*15-character/,
  ],
  [
    'bad CIDR',
    (d) => {
      d.switch.ipv4 = '198.18.0.0/33';
    },
    'switch.ipv4',
    /longer than 32 bits/,
  ],
  [
    'host bits set',
    (d) => {
      d.switch.ipv4 = '198.18.0.5/24';
    },
    'switch.ipv4',
    /host bits set; the network is 198\.18\.0\.0\/24/,
  ],
  [
    'IPv6 where IPv4 goes',
    (d) => {
      d.switch.ipv4 = 'fd00::/64';
    },
    'switch.ipv4',
    /takes an IPv4 subnet/,
  ],
  [
    'pool outside the switch subnet',
    (d) => {
      d.pool.blocks[0] = { cidr: '10.0.10.0/24' };
    },
    'pool.blocks[0]',
    /outside the switch subnet 198\.18\.0\.0\/24/,
  ],
  [
    'pool overlapping a node',
    (d) => {
      d.pool.blocks[0] = { start: '198.18.0.10', stop: '198.18.0.20' };
    },
    'pool.blocks[0]',
    /contains 198\.18\.0\.11, the address of nodes\[0\]/,
  ],
  [
    'pool start after stop',
    (d) => {
      d.pool.blocks[0] = { start: '198.18.0.109', stop: '198.18.0.100' };
    },
    'pool.blocks[0]',
    /comes after stop 198.18.0.100; swap them/,
  ],
  [
    'selector matching no node',
    (d) => {
      d.policy.nodeSelector.matchExpressions[0].values = ['dc9'];
    },
    'policy.nodeSelector',
    /matches no node/,
  ],
  [
    'In without values',
    (d) => {
      d.policy.nodeSelector.matchExpressions[0].values = [];
    },
    'policy.nodeSelector.matchExpressions[0].values',
    /needs a non-empty values list/,
  ],
  [
    'bad operator',
    (d) => {
      d.policy.nodeSelector.matchExpressions[0].operator = 'Equals';
    },
    'policy.nodeSelector.matchExpressions[0].operator',
    /In.*NotIn.*Exists.*DoesNotExist/,
  ],
  [
    'policy on the management NIC',
    (d) => {
      d.policy.interfaces = ['^eth[0-9]+$'];
    },
    'policy.interfaces',
    /management interface eth0/,
  ],
  [
    'bad regex',
    (d) => {
      d.policy.interfaces = ['eth1', '('];
    },
    'policy.interfaces[1]',
    /not a valid regular expression/,
  ],
  [
    'renew deadline not below the lease',
    (d) => {
      d.lease.renewDeadline = '15s';
    },
    'lease.renewDeadline',
    /shorter than the lease duration/,
  ],
  [
    'bad duration',
    (d) => {
      d.lease.duration = '15 seconds';
    },
    'lease.duration',
    /duration such as "15s"/,
  ],
  [
    'management overlapping the switch',
    (d) => {
      d.management.ipv4 = '198.18.0.0/16';
    },
    'management.ipv4',
    /overlaps the switch subnet/,
  ],
  [
    'unknown provider',
    (d) => {
      d.provider = 'docker';
    },
    'provider',
    /valid providers: netns/,
  ],
  [
    'no control plane',
    (d) => {
      d.nodes[0].role = 'worker';
    },
    'nodes',
    /no node has role control-plane/,
  ],
  [
    'node address outside the subnet',
    (d) => {
      d.nodes[1].ipv4 = '198.18.1.5';
    },
    'nodes[1].ipv4',
    /outside 198\.18\.0\.0\/24/,
  ],
  [
    'missing switch',
    (d) => {
      delete d.switch;
    },
    'switch',
    /is required/,
  ],
  [
    'reserved name',
    (d) => {
      d.client.name = 'switch';
    },
    'client.name',
    /reserved/,
  ],
];

for (const [title, edit, path, message] of bad) {
  test(`bad lab file: ${title}`, (t) => {
    const found = problems(mutate(edit));
    const hit = found.find((p) => p.path === path && message.test(p.message));
    t.truthy(hit, `expected ${path}: ${message} in ${JSON.stringify(found, null, 1)}`);
  });
}

test('every problem of a file is reported at once', (t) => {
  const found = problems(
    mutate((d) => {
      d.name = 'Bad_Name';
      d.nodes[3].name = 'node01';
      d.lease.retryPeriod = '10s';
      d.pool.blocks[1] = { cidr: 'fd00:1::/120' };
    }),
  );
  t.true(found.length >= 4, JSON.stringify(found));
  t.deepEqual([...new Set(found.map((p) => p.path))].sort(), [
    'lease.retryPeriod',
    'name',
    'nodes[3].name',
    'pool.blocks[1]',
  ]);
});

test('YAML syntax errors and duplicate keys name the line', (t) => {
  const found = problems('name: demo\nname: again\n');
  t.regex(found[0]!.path, /^line \d+$/);
  t.regex(found[0]!.message, /YAML/);
});

test('IP helpers: parse, format (RFC 5952), ranges', (t) => {
  t.is(formatIp(6, parseIp('fd4c:3200:0018:0000:0000:0000:0000:0011')!.value), 'fd4c:3200:18::11');
  t.is(formatIp(6, parseIp('2001:db8:0:0:1:0:0:1')!.value), '2001:db8::1:0:0:1');
  t.is(formatIp(4, parseIp('198.18.0.255')!.value), '198.18.0.255');
  const c = parseCidr('fd4c:3200:18::1:0/124');
  if (typeof c === 'string') return t.fail(c);
  const r = cidrRange(c);
  t.is(r.last - r.first, 15n);
  t.is(typeof parseCidr('300.1.1.1/24'), 'string');
});

test('label selectors: matchLabels and every operator', (t) => {
  const l = { datacenter: 'dc1', tier: 'edge' };
  t.true(matches(undefined, l));
  t.true(matches({}, l));
  t.true(matches({ matchLabels: { datacenter: 'dc1' } }, l));
  t.false(matches({ matchLabels: { datacenter: 'dc2' } }, l));
  t.true(matches({ matchExpressions: [{ key: 'datacenter', operator: 'In', values: ['dc1', 'dc2'] }] }, l));
  t.false(matches({ matchExpressions: [{ key: 'datacenter', operator: 'NotIn', values: ['dc1'] }] }, l));
  t.true(
    matches({ matchExpressions: [{ key: 'rack', operator: 'NotIn', values: ['r1'] }] }, l),
    'NotIn matches a missing key',
  );
  t.true(matches({ matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, l));
  t.false(matches({ matchExpressions: [{ key: 'rack', operator: 'Exists' }] }, l));
  t.true(matches({ matchExpressions: [{ key: 'rack', operator: 'DoesNotExist' }] }, l));
  t.false(
    matches(
      { matchLabels: { tier: 'edge' }, matchExpressions: [{ key: 'datacenter', operator: 'In', values: ['dc3'] }] },
      l,
    ),
    'all terms must hold',
  );
});

test("host parts 224-254 are the prober's: a node or pool there is refused", (t) => {
  const p = problems(
    mutate((d) => {
      d.nodes[1].ipv4 = '198.18.0.224';
    }),
  );
  t.true(
    p.some((x) => x.path === 'nodes[1]' && /reserved for l2lab's conformance prober/.test(x.message)),
    JSON.stringify(p),
  );
  const q = problems(
    mutate((d) => {
      d.pool.blocks[0] = { start: '198.18.0.210', stop: '198.18.0.230' };
    }),
  );
  t.true(
    q.some(
      (x) =>
        x.path === 'pool.blocks[0]' &&
        /contains 198\.18\.0\.224, the address of l2lab's conformance prober/.test(x.message),
    ),
    JSON.stringify(q),
  );
});

test('L2 domains: NICs, addresses, labels and default pool/policy; VLANs on eth1, own switches on eth2…', (t) => {
  const lab = loadLab(join(repo, 'labs', 'domains.yaml'));
  t.deepEqual(
    lab.domains.map((d) => [d.name, d.kind, d.interface, d.nodes, d.policy.interfaces]),
    [
      ['red', 'switch', 'eth2', ['node01', 'node02'], ['^eth2$']],
      ['blue', 'switch', 'eth3', ['node02', 'node03'], ['^eth3$']],
    ],
  );
  const node02 = lab.nodes.find((n) => n.name === 'node02')!;
  t.deepEqual(
    node02.interfaces.map((i) => [i.name, i.network, i.ipv4]),
    [
      ['eth0', 'management', '198.19.40.13'],
      ['eth1', 'switch', '198.18.0.13'],
      ['eth2', 'domain', '198.18.100.13'],
      ['eth3', 'domain', '198.18.200.13'],
    ],
  );
  t.is(node02.labels['l2lab.io/domain-red'], 'true');
  t.deepEqual(lab.domains[0]!.policy.nodeSelector, { matchLabels: { 'l2lab.io/domain-red': 'true' } });
  t.deepEqual(lab.domains[0]!.pool.serviceSelector, { matchLabels: { 'l2lab.io/domain': 'red' } });
  t.deepEqual(
    lab.client.interfaces.map((i) => i.name),
    ['eth1', 'eth2', 'eth3'],
  );

  const vlan = parseLab(
    stringify({
      ...parse(readFileSync(join(repo, 'labs', 'domains.yaml'), 'utf8')),
      domains: [
        {
          ...parse(readFileSync(join(repo, 'labs', 'domains.yaml'), 'utf8')).domains[0],
          switch: undefined,
          vlan: 100,
        },
      ],
    }),
  );
  const red = vlan.nodes.find((n) => n.name === 'node01')!.interfaces.find((i) => i.domain === 'red')!;
  t.is(red.name, 'eth1.100');
  t.is(vlan.domains[0]!.policy.interfaces[0], '^eth1\\.100$');
  t.is(red.mac, vlan.nodes.find((n) => n.name === 'node01')!.interfaces.find((i) => i.name === 'eth1')!.mac);
});

test('L2 domains: every problem named, with its path and fix', (t) => {
  const base = parse(readFileSync(join(repo, 'labs', 'domains.yaml'), 'utf8'));
  const found = problems(
    stringify({
      ...base,
      policy: { ...base.policy, interfaces: ['^eth'], serviceSelector: undefined },
      domains: [
        { ...base.domains[0], switch: undefined, name: 'Red', nodeAddresses: { node03: 'ipv6' } },
        { ...base.domains[1], ipv4: '198.18.0.0/25', nodes: ['node02', 'node09'] },
        {
          name: 'green',
          vlan: 5000,
          ipv4: '198.18.50.0/24',
          ipv6: 'fd4c:3200:18:50::/64',
          pool: { blocks: [{ start: '198.18.60.1', stop: '198.18.60.5' }], serviceSelector: { matchExpressions: [] } },
          policy: { nodeSelector: { matchLabels: { datacenter: 'dc1' } }, interfaces: ['^eth9$'] },
        },
      ],
    }),
  );
  const has = (path: string, re: RegExp) =>
    t.true(
      found.some((p) => p.path === path && re.test(p.message)),
      `${path} ${re} in ${JSON.stringify(found, null, 1)}`,
    );
  has('domains[0].name', /lower-case letters/);
  has('domains[0]', /give either vlan: ID .* or switch: true/);
  has('domains[1].ipv4', /overlaps switch.ipv4 \(198\.18\.0\.0\/24\)/);
  has('domains[1].nodes[1]', /no node "node09"/);
  has('domains[2].vlan', /5000 is not a VLAN ID/);
  has('domains[2].pool.blocks[0]', /outside the domain green subnet 198\.18\.50\.0\/24/);
  has('domains[2].pool.blocks', /no IPv6 block/);
  has('domains[2].pool.serviceSelector', /needs matchLabels/);
  has('domains[2].policy.interfaces', /matches no interface of its L2 domain; .* add "\^eth1\\.5000\$"/);
  has('policy.interfaces', /matches eth2 \(domain Red\) as well/);
  has('policy.serviceSelector', /selects domain Red's service .* announced in the lab switch's L2 domain as well/);
  has('domains[0].nodeAddresses.node03', /"node03" is not on domain Red \(its nodes: node01, node02\)/);
});

test('L2 domains: nodeAddresses takes both, ipv6 or none per node; the NIC carries only those', (t) => {
  const base = parse(readFileSync(join(repo, 'labs', 'domains.yaml'), 'utf8'));
  const bad = problems(stringify({ ...base, domains: [{ ...base.domains[0], nodeAddresses: { node01: 'v6' } }] }));
  t.true(
    bad.some((p) => p.path === 'domains[0].nodeAddresses.node01' && /both.*ipv6.*none/.test(p.message)),
    JSON.stringify(bad),
  );
  const lab = parseLab(
    stringify({ ...base, domains: [{ ...base.domains[0], nodeAddresses: { node01: 'ipv6', node02: 'both' } }] }),
    'x.yaml',
  );
  const nic = (n: string) => lab.nodes.find((x) => x.name === n)!.interfaces.find((i) => i.domain === 'red')!;
  t.is(nic('node01').addresses, 'ipv6');
  t.is(nic('node02').addresses, undefined);
  t.is(lab.client.interfaces.find((i) => i.domain === 'red')!.addresses, undefined, 'the client keeps its addresses');
});

const hostsExample = readFileSync(join(repo, 'labs', 'hosts.example.yaml'), 'utf8');
const problemsOf = (text: string): string[] => {
  try {
    parseLab(text, 'hosts.yaml');
    return [];
  } catch (e) {
    if (!(e instanceof LabFileError)) throw e;
    return e.problems.map((p) => `${p.path}: ${p.message}`);
  }
};
const hostsEdit = (edit: (d: ReturnType<typeof parse>) => void) => {
  const d = parse(hostsExample);
  edit(d);
  return stringify(d);
};

test('a hosts lab: NICs by the names the machines give them, no address or MAC made up, the prober where the file says', (t) => {
  const lab = parseLab(hostsExample, join(repo, 'labs', 'hosts.example.yaml'));
  t.is(lab.provider, 'hosts');
  const nic = lab.nodes[0]!.interfaces;
  t.deepEqual(nic, [
    { name: 'enp1s0', network: 'switch', mac: '', ipv4: '', ipv4Prefix: 24, ipv6: '', ipv6Prefix: 64 },
  ]);
  t.is(lab.client.interfaces[0]!.name, 'eth0', "the client's own NIC name");
  t.false(
    [...lab.nodes, lab.client].some((h) => h.interfaces.some((i) => i.network === 'management')),
    'no management NIC l2lab would have made',
  );
  t.is(lab.hosts!.prober.ipv4.length, 30, 'a /27 without its network and broadcast addresses');
  t.is(lab.hosts!.prober.ipv4[0], '192.168.50.193');
  t.is(lab.hosts!.prober.ipv6.length, 32);
  t.is(lab.hosts!.dir, '/var/tmp/l2l-home');
  t.is(lab.hosts!.carrierUndoS, 600);
  t.is(lab.hosts!.machines.node01!.power!.off.split(' ')[0], 'ipmitool', 'hosts.power for every node');
  t.is(lab.hosts!.machines.probe01!.power, undefined, 'never for the client');
  t.true(lab.hosts!.identityFile.startsWith('/'), '~ expanded');
});

test('a hosts lab may have no control plane (a keepalived pair on Proxmox); what needs one says so', (t) => {
  const file = join(repo, 'labs', 'hosts.proxmox.yaml');
  const lab = parseLab(readFileSync(file, 'utf8'), file);
  t.deepEqual(
    lab.nodes.map((n) => [n.name, n.role]),
    [
      ['lb1', 'worker'],
      ['lb2', 'worker'],
    ],
  );
  t.is(lab.hosts!.machines.lb2!.power!.off, 'ssh root@pve qm stop 132', "each VM's own power commands");
  t.regex(lab.hosts!.machines.lb1!.service!.stop, /^systemctl kill -s "\$L2LAB_SIGNAL" "\$L2LAB_SERVICE"/);
  t.throws(() => controlPlane(lab), {
    instanceOf: UsageError,
    message: /lab pve has no node with role: control-plane/,
  });
  // A lab l2lab builds always has one: its lease store runs there.
  const netnsFile = hostsEdit((d) => {
    d.provider = 'netns';
    delete d.hosts;
    delete d.nodes[0].role;
  });
  t.true(problemsOf(netnsFile).some((p) => /nodes: no node has role control-plane/.test(p)));
});

test('a hosts lab file with problems: every one reported, each with its field and the fix', (t) => {
  const p = problemsOf(
    hostsEdit((d) => {
      delete d.hosts.machines.node02; // a node nobody says how to reach
      d.hosts.machines.ghost = { ssh: '10.0.0.99', nic: 'eth1' }; // a machine that is no node
      d.hosts.machines.probe01.power = { off: 'x', on: 'y' }; // the client is never powered off
      d.hosts.prober.ipv4 = '192.168.51.0/27'; // outside the switch subnet
      d.hosts.prober.ipv6 = 'fd00:50::/64'; // far too many
      d.hosts.machines.node01 = { local: true, nic: 'eth1' }; // faults never run where l2lab runs
      d.hosts.machines.cp01.local = true; // and ssh: too
    }),
  )
    .concat(
      problemsOf(
        hostsEdit((d) => {
          d.hosts.machines.probe01 = { nic: 'eth0' }; // neither ssh: nor local: true
        }),
      ),
    )
    .concat(
      problemsOf(
        hostsEdit((d) => {
          d.nodes[0].ipv4 = '192.168.50.193'; // one of the prober's
        }),
      ),
    );
  const has = (re: RegExp) =>
    t.true(
      p.some((x) => re.test(x)),
      `${re} in:\n${p.join('\n')}`,
    );
  has(/^hosts\.machines\.node02: missing: say how to reach node02 \(\{ ssh: ADDRESS, nic:/);
  has(/^hosts\.machines\.ghost: no node or client is named ghost/);
  has(/^hosts\.machines\.probe01\.power: the client is never powered off/);
  has(/^hosts\.prober\.ipv4: 192\.168\.51\.1 \(and 29 more\) is outside the switch subnet 192\.168\.50\.0\/24/);
  has(/^hosts\.prober\.ipv6: fd00:50::\/64 holds \d+ addresses; give at most 64/);
  has(/^hosts\.machines\.node01\.local: only the client may be this machine/);
  has(/^hosts\.machines\.cp01: gives both ssh: and local: true; keep one/);
  has(/^hosts\.machines\.probe01\.ssh: missing: .*or local: true when the client is this machine/);
  has(/^nodes\[0\]: 192\.168\.50\.193 is reserved for l2lab's conformance prober \(hosts\.prober\)/);
});

test('hosts settings belong to provider: hosts, and power is for every node or none', (t) => {
  const onNetns = parse(defaultText);
  onNetns.hosts = parse(hostsExample).hosts;
  t.true(problemsOf(stringify(onNetns)).some((x) => /^hosts: is for provider: hosts only .*remove it/.test(x)));
  const noHosts = hostsEdit((d) => {
    delete d.hosts;
  });
  t.true(problemsOf(noHosts).some((x) => /^hosts: provider: hosts needs a hosts: section/.test(x)));
  const some = problemsOf(
    hostsEdit((d) => {
      d.hosts.machines.cp01.power = d.hosts.power;
      delete d.hosts.power;
    }),
  );
  t.true(
    some.some((x) => /^hosts\.power: given for some nodes, not for node01, node02/.test(x)),
    some.join('\n'),
  );
  const local = hostsEdit((d) => {
    d.hosts.machines.probe01 = { local: true, nic: 'enp2s0' }; // the client is this machine
  });
  t.deepEqual(problemsOf(local), []);
  const policy = problemsOf(
    hostsEdit((d) => {
      d.hosts.machines.node02.nic = 'bond0.100';
    }),
  );
  t.true(
    policy.some((x) => /^policy\.interfaces: matches no interface .*bond0\.100: add "\^bond0\\\.100\$"/.test(x)),
    policy.join('\n'),
  );
});

test('a VM lab written as a hosts file (lab status --as-hosts): power is the hypervisor cutting and booting the VM', (t) => {
  const lab = loadLab(labFile('tvmh', 127, () => {}, 'labs/vm.yaml'));
  const host = (h: LabHost): HostStatus => ({
    name: h.name,
    role: h.role,
    labels: h.labels,
    namespace: '',
    powered: true,
    interfaces: [],
    sshd: true,
    ssh: { host: mgmt(h).ipv4, port: 22, user: 'root', hostKey: 'ssh-ed25519 AAAA' },
  });
  const status = {
    ...({} as LabStatus),
    state: 'up',
    ssh: {
      user: 'root',
      identityFile: '/var/lib/l2l-tvmh/ssh/id',
      knownHostsFile: '/var/lib/l2l-tvmh/ssh/known_hosts',
    },
    nodes: lab.nodes.map(host),
    client: host(lab.client),
  } as LabStatus;
  const text = asHostsFile(lab, status, getProvider('vagrant'));
  t.regex(text, /off: virsh -c qemu:\/\/\/system destroy l2l-tvmh-"\$L2LAB_MACHINE"/);
  t.regex(text, /on: virsh -c qemu:\/\/\/system start l2l-tvmh-"\$L2LAB_MACHINE"/);
  const hosts = parseLab(text, '/tmp/tvmh-hosts.yaml');
  t.is(hosts.provider, 'hosts');
  t.is(hosts.name, 'tvmhh');
  for (const n of lab.nodes) {
    t.is(hosts.hosts!.machines[n.name]!.ssh, mgmt(n).ipv4, `${n.name}: reached at its management address`);
    t.is(hosts.hosts!.machines[n.name]!.nic, 'eth1', `${n.name}: its NIC on the lab switch`);
  }
});

// The lab lifecycle above the providers: what every lab keeps on this host is made once, the same
// for every provider; a failed first up is rolled back, a later one is kept and says how to repair.
import { existsSync, readFileSync } from 'node:fs';
import test from 'ava';
import { findLab } from '../../lab/find-lab.ts';
import { loadLab } from '../../lab/labfile.ts';
import { labDown, labUp } from '../../lab/lifecycle.ts';
import { labPaths } from '../../lab/names.ts';
import type { Capabilities, ConvergeContext, Provider } from '../../lab/provider.ts';
import { providerOf, writeFaults } from '../../lab/state.ts';
import type { Lab } from '../../lab/types.ts';
import { labFile, temporaryStateBase } from '../helpers.ts';

temporaryStateBase();

/** A provider with machines in memory: what the lifecycle asks of it, and a converge that can fail. */
class MemoryProvider implements Partial<Provider> {
  readonly calls: string[] = [];
  failConverge = false;
  seen?: ConvergeContext;
  constructor(
    readonly name: string,
    readonly capabilities: Capabilities,
  ) {}
  async preflight() {
    this.calls.push('preflight');
  }
  async converge(_lab: Lab, ctx: ConvergeContext) {
    this.seen = ctx;
    this.calls.push('converge');
    await ctx.apply('machines', async () => {
      if (this.failConverge) throw new Error('the hypervisor said no');
    });
  }
  async remove(name: string) {
    this.calls.push(`remove ${name}`);
    return [`machines of ${name}`];
  }
}

const caps = (clientManagement: boolean): Capabilities => ({
  sharedFilesystem: false,
  checkoutOnMachines: true,
  builtByL2lab: true,
  sharedPackages: false,
  ownKernel: true,
  clientManagement,
});
const quiet = { step: () => {}, info: () => {} };
const asProvider = (p: MemoryProvider) => p as unknown as Provider;

test.serial(
  'up makes the same state for every provider; --name finds the lab; down removes machines and state',
  async (t) => {
    for (const [name, clientManagement, file] of [
      ['vm-like', true, labFile('tlife', 121, () => {}, 'labs/vm.yaml')],
      ['netns-like', false, labFile('tlife', 121)],
    ] as const) {
      const lab = loadLab(file);
      const p = new MemoryProvider(name, caps(clientManagement));
      const paths = labPaths(lab.name);
      const up = await labUp(lab, quiet, asProvider(p));
      t.deepEqual(p.calls, ['preflight', 'converge']);
      t.true(up.changes.includes('lab.json (resolved lab file)'));
      t.is(providerOf(lab.name), name, 'the provider is recorded for lab:down by name');
      t.deepEqual(findLab({ name: lab.name }), JSON.parse(JSON.stringify(lab)), 'lab:status/ssh/fault --name read it');
      // host keys pinned for every machine reached over SSH: the client too where it has a management NIC
      const pinned = readFileSync(paths.knownHosts, 'utf8').trim().split('\n');
      t.is(pinned.length, lab.nodes.length + (clientManagement ? 1 : 0));
      t.true(existsSync(paths.clientKey) && existsSync(`${paths.hostKey(lab.nodes[0]!.name)}.pub`));
      t.is(existsSync(paths.hostKey(lab.client.name)), clientManagement);
      t.is(p.seen?.paths.dir, paths.dir, 'the provider gets the one paths object');
      // faults in force are handed to converge (a powered-off machine stays off)
      writeFaults(lab, [{ kind: 'power-off', node: lab.nodes[1]!.name }]);
      const again = await labUp(lab, quiet, asProvider(p));
      t.deepEqual(again.changes, ['machines'], 'nothing of the shared state changes the second time');
      t.deepEqual(p.seen?.faults, [{ kind: 'power-off', node: lab.nodes[1]!.name }]);
      const down = await labDown(lab.name, quiet, asProvider(p));
      t.deepEqual(down.removed, [`machines of ${lab.name}`, `directory ${paths.dir}`]);
      t.false(existsSync(paths.dir));
    }
  },
);

test.serial(
  'a first up that fails is rolled back; a later one keeps the lab and says how to repair or remove it',
  async (t) => {
    const lab = loadLab(labFile('tlife2', 122, () => {}, 'labs/vm.yaml'));
    const paths = labPaths(lab.name);
    const p = new MemoryProvider('vm-like', caps(true));
    p.failConverge = true;
    const first = await t.throwsAsync(labUp(lab, quiet, asProvider(p)));
    t.regex(first!.message, /vm-like: machines: the hypervisor said no\nNothing was left behind \(rolled back\)\./);
    t.deepEqual(p.calls, ['preflight', 'converge', `remove ${lab.name}`]);
    t.false(existsSync(paths.dir), 'no state directory left');

    p.failConverge = false;
    await labUp(lab, quiet, asProvider(p));
    p.failConverge = true;
    p.calls.length = 0;
    const later = await t.throwsAsync(labUp(lab, quiet, asProvider(p)));
    t.regex(later!.message, /lab:up did not finish.*l2lab lab up --lab .*repairs it.*l2lab lab down --lab /s);
    t.deepEqual(p.calls, ['preflight', 'converge'], 'nothing removed');
    t.true(existsSync(paths.labJson));
    await labDown(lab.name, quiet, asProvider(p));
  },
);

test.serial('a preflight that fails creates nothing', async (t) => {
  const lab = loadLab(labFile('tlife3', 123, () => {}, 'labs/vm.yaml'));
  const p = new MemoryProvider('vm-like', caps(true));
  p.preflight = async () => {
    throw new Error('vagrant is not installed: run scripts/install.sh');
  };
  await t.throwsAsync(labUp(lab, quiet, asProvider(p)), { message: /vagrant is not installed/ });
  t.false(existsSync(labPaths(lab.name).dir));
  t.deepEqual(p.calls, []);
});

test.serial(
  'machines l2lab did not build: no keys of its own made, what converge observed is saved and read back with the file',
  async (t) => {
    const lab = loadLab(labFile('tlife4', 126, () => {}, 'labs/hosts.example.yaml'));
    t.is(lab.provider, 'hosts');
    const p = new MemoryProvider('observer', { ...caps(true), builtByL2lab: false });
    // A converge that reads a machine's MAC and pins its key, as the hosts provider does.
    p.converge = async (l: Lab, ctx: ConvergeContext) => {
      p.calls.push('converge');
      l.nodes[0]!.interfaces[0]!.mac = '52:54:00:12:34:56';
      l.hosts!.machines[l.nodes[0]!.name]!.hostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIObserved';
      await ctx.apply('machines', async () => {});
    };
    const paths = labPaths(lab.name);
    const up = await labUp(lab, quiet, asProvider(p));
    t.false(existsSync(paths.clientKey), 'no key of l2lab: the hosts file names the user\u2019s');
    t.false(existsSync(paths.hostKey(lab.nodes[0]!.name)));
    t.true(up.changes.includes('lab.json (what lab:up observed of the machines)'));
    const again = findLab({ lab: lab.file });
    t.is(again.nodes[0]!.interfaces[0]!.mac, '52:54:00:12:34:56', 'the file read again has the observed MAC');
    t.is(again.hosts!.machines[again.nodes[0]!.name]!.hostKey, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIObserved');
    t.is(again.nodes[1]!.interfaces[0]!.mac, '', 'nothing made up where nothing was observed');
    await labDown(lab.name, quiet, asProvider(p));
    t.false(existsSync(paths.dir));
    t.is(findLab({ lab: lab.file }).nodes[0]!.interfaces[0]!.mac, '', 'once down, nothing of it is read back');
  },
);

// Every name l2lab creates on a host derives from here, and all start with "l2l-<lab>-",
// so that lab:down finds exactly what it created, even after a crash.
export const prefix = (lab: string) => `l2l-${lab}-`;
export const hostNs = (lab: string, host: string) => `l2l-${lab}-${host}`;
export const switchNs = (lab: string) => `l2l-${lab}-switch`;
export const switchBridge = 'br0'; // inside the switch namespace
/** A further L2 domain's own switch, beside br0 in the switch namespace, and a machine's port on it. */
export const domainBridge = (domain: string) => `br-${domain}`;
export const domainPort = (index: number, iface: string) => `p${index}-${iface}`;
export const mgmtBridge = (lab: string) => `l2l-${lab}-br`;
/** A machine's management veth on the host: m<index> for nodes, m0 for the client (index 200 would not fit 15 characters). */
export const mgmtVeth = (lab: string, h: { role: string; index: number }) =>
  `l2l-${lab}-m${h.role === 'client' ? 0 : h.index}`;
/**
 * Where a lab keeps its state on this host: /var/lib/l2l-<lab>; L2LAB_STATE_BASE moves the base (a
 * test without root, a machine whose /var/lib is read-only). The name keeps its l2l- prefix.
 */
export const stateBase = () => process.env.L2LAB_STATE_BASE ?? '/var/lib';
export const stateDir = (lab: string) => `${stateBase()}/l2l-${lab}`;
/**
 * Every file a lab keeps on this host, in one place (as containerlab's TopoPaths): the lifecycle,
 * the providers, faults, inventories and the cluster path read their paths from here.
 */
export function labPaths(lab: string) {
  const dir = stateDir(lab);
  return {
    dir,
    ssh: `${dir}/ssh`,
    /** The lab's own SSH key: root on every machine accepts it. */
    clientKey: `${dir}/ssh/id_ed25519`,
    hostKeys: `${dir}/ssh/hosts`,
    /** A machine's host key, made here and pinned in knownHosts before the machine exists. */
    hostKey: (host: string) => `${dir}/ssh/hosts/${host}_ed25519`,
    knownHosts: `${dir}/ssh/known_hosts`,
    /** The resolved lab file: `--name` finds a lab that is up by it. */
    labJson: `${dir}/lab.json`,
    /** Faults in force (lab:fault), kept until undone. */
    faults: `${dir}/faults.json`,
    /** Which provider built the lab: lab:down by name asks it. */
    provider: `${dir}/provider`,
    /** A machine's private state (netns: its /etc overlay, its init's PID). */
    node: (host: string) => `${dir}/nodes/${host}`,
    /** The cluster path's secrets and rendered files. */
    cluster: `${dir}/cluster`,
    /** Held while apt runs on a lab whose machines share this host's packages. */
    aptLock: `${dir}/apt.lock`,
    /** A provider's own files (vagrant's VM spec and dotfile, libvirt network definitions). */
    own: (file: string) => `${dir}/${file}`,
  };
}
export type LabPaths = ReturnType<typeof labPaths>;
/** Empty mount points on the host that nodes bind their private state and logs onto. */
export const sharedMountPoints = ['/var/lib/l2lab', '/var/log/l2lab'];
export const sshUser = 'root';

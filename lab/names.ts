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
export const mgmtVeth = (lab: string, index: number) => `l2l-${lab}-m${index}`;
/**
 * Where a lab keeps its state on this host: /var/lib/l2l-<lab>; L2LAB_STATE_BASE moves the base (a
 * test without root, a machine whose /var/lib is read-only). The name keeps its l2l- prefix.
 */
export const stateBase = () => process.env.L2LAB_STATE_BASE ?? '/var/lib';
export const stateDir = (lab: string) => `${stateBase()}/l2l-${lab}`;
export const nodeDir = (lab: string, host: string) => `${stateDir(lab)}/nodes/${host}`;
/** Empty mount points on the host that nodes bind their private state and logs onto. */
export const sharedMountPoints = ['/var/lib/l2lab', '/var/log/l2lab'];
export const sshUser = 'root';

// The vagrant provider's own lab file settings: `vagrant:` (lab-wide VM defaults) and a machine's
// `vm:` (its own). The lab file schema takes them from here; the provider's validation of what
// it cannot do (VirtualBox) is here too. No provider code loads with it.
import { z } from 'zod';

/** Per-machine VM settings (ignored by netns). */
export const vmSchema = z.strictObject({
  box: z.string().optional(),
  boxVersion: z.string().optional(),
  cpus: z.number().int().min(1).max(64).optional(),
  memory: z.number().int().min(256).max(262144).optional(), // MiB
});

export const vagrantSchema = z
  .strictObject({
    box: z.string().default('l2lab/debian12'),
    boxVersion: z.string().optional(),
    /** libvirt only: see validateVagrant's message for virtualbox. */
    provider: z.string().default('libvirt'),
    /** libvirt: kvm, or qemu (software emulation, where KVM is unusable). */
    driver: z.enum(['kvm', 'qemu']).default('kvm'),
    cpus: z.number().int().min(1).max(64).default(2),
    memory: z.number().int().min(256).default(2048),
    /** Management network with NAT to the host's uplink (package downloads on users' machines). Off: SSH only, no route out. */
    nat: z.boolean().default(false),
  })
  .default({ box: 'l2lab/debian12', provider: 'libvirt', driver: 'kvm', cpus: 2, memory: 2048, nat: false });

/** What the provider cannot do, reported with the field and the fix (all problems at once, by the caller). */
export function validateVagrant(
  raw: z.output<typeof vagrantSchema>,
  report: (field: string, message: string) => void,
): void {
  if (raw.provider !== 'libvirt')
    report(
      'vagrant.provider',
      raw.provider === 'virtualbox'
        ? "virtualbox is not supported: l2lab's box boots only under libvirt (it starts the kernel directly, and its interface names " +
            "and SSH address come from libvirt's network). Use provider: libvirt — driver: kvm, or driver: qemu where KVM is unusable " +
            '(slow, but any Linux host runs it)'
        : `unknown Vagrant provider "${raw.provider}"; the one supported is libvirt (driver: kvm or qemu)`,
    );
}

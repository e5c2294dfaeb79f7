// The cluster's join secrets, made on the controller before kubeadm runs: the cluster CA (kubeadm
// init uses a CA it finds in /etc/kubernetes/pki) and a bootstrap token. So the join
// configurations are complete when rendered, and workers verify the API server's CA by its hash
// (no unsafeSkipCAVerification, no token read back from the control plane).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../lab/command.ts';
import { labPaths } from '../../lab/names.ts';

export interface ClusterSecrets {
  dir: string;
  caCert: string;
  caKey: string;
  caHash: string;
  token: string;
}

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const tokenPart = (n: number) => [...randomBytes(n)].map((b) => TOKEN_ALPHABET[b % TOKEN_ALPHABET.length]).join('');

export async function ensureClusterSecrets(lab: string): Promise<ClusterSecrets> {
  const dir = join(labPaths(lab).cluster, 'pki');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caCert = join(dir, 'ca.crt'),
    caKey = join(dir, 'ca.key'),
    tokenFile = join(dir, 'bootstrap-token');
  if (!existsSync(caCert) || !existsSync(caKey))
    await run([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-days',
      '3650',
      '-subj',
      '/CN=kubernetes',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
    ]);
  if (!existsSync(tokenFile)) writeFileSync(tokenFile, `${tokenPart(6)}.${tokenPart(16)}\n`, { mode: 0o600 });
  // kubeadm's discovery hash: sha256 of the CA's DER-encoded SubjectPublicKeyInfo.
  const spki = await run([
    'sh',
    '-c',
    `openssl x509 -pubkey -noout -in '${caCert}' | openssl pkey -pubin -outform DER | sha256sum`,
  ]);
  return {
    dir,
    caCert,
    caKey,
    caHash: `sha256:${spki.stdout.split(/\s/)[0]}`,
    token: readFileSync(tokenFile, 'utf8').trim(),
  };
}

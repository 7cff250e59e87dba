/**
 * A throw-away certificate authority and a server certificate for 127.0.0.1 / localhost,
 * made with the openssl CLI, so TLS tests verify a real chain instead of turning
 * verification off.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from './exec.js';

export interface TestCA {
  /** PEM of the CA certificate: what clients trust. */
  caFile: string;
  /** PEM of the server certificate (SAN IP:127.0.0.1, DNS:localhost), signed by the CA. */
  certFile: string;
  /** PEM of the server's private key. */
  keyFile: string;
}

/** Writes ca.crt/ca.key, server.crt/server.key into `dir` (P-256 keys: fast to make). */
export async function makeTestCA(dir: string): Promise<TestCA> {
  const caKey = path.join(dir, 'ca.key');
  const caFile = path.join(dir, 'ca.crt');
  const keyFile = path.join(dir, 'server.key');
  const csrFile = path.join(dir, 'server.csr');
  const certFile = path.join(dir, 'server.crt');
  const extFile = path.join(dir, 'server.ext');

  await Promise.all([
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', caKey]),
    run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile]),
    writeFile(
      extFile,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '',
      ].join('\n'),
    ),
  ]);
  await Promise.all([
    run('openssl', [
      'req', '-x509', '-new', '-key', caKey, '-sha256', '-days', '3',
      '-subj', '/CN=tarpush test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-out', caFile,
    ]),
    run('openssl', ['req', '-new', '-key', keyFile, '-subj', '/CN=localhost', '-out', csrFile]),
  ]);
  await run('openssl', [
    'x509', '-req', '-in', csrFile, '-CA', caFile, '-CAkey', caKey, '-set_serial', `0x${Date.now().toString(16)}`,
    '-days', '3', '-sha256', '-extfile', extFile, '-out', certFile,
  ]);
  return { caFile, certFile, keyFile };
}

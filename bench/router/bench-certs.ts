import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestPki } from '../../test/helpers/certs';

/** A CA and a server certificate for localhost/127.0.0.1 (the tests' throwaway PKI), and the PEM HAProxy takes. */
export function certificates(): { ca: string; cert: string; key: string; pem: string } {
  const pki = new TestPki('bench-ca');
  const server = pki.issue('server', 'localhost');
  const pem = join(pki.dir, 'server.pem');
  writeFileSync(pem, readFileSync(server.cert, 'utf8') + readFileSync(server.key, 'utf8'));
  return { ca: pki.ca.cert, cert: server.cert, key: server.key, pem };
}

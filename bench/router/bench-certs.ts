import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CA and a server certificate for localhost/127.0.0.1 (openssl), and the PEM HAProxy takes. */
export function certificates(): { ca: string; cert: string; key: string; pem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nerve-bench-tls-'));
  const f = (n: string) => join(dir, n);
  const ssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=bench ca',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
  ]);
  ssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    f('s.key'),
    '-out',
    f('s.csr'),
  ]);
  writeFileSync(f('s.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  ssl([
    'x509',
    '-req',
    '-in',
    f('s.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-days',
    '1',
    '-set_serial',
    '7',
    '-extfile',
    f('s.ext'),
    '-out',
    f('s.crt'),
  ]);
  writeFileSync(f('s.pem'), readFileSync(f('s.crt')).toString() + readFileSync(f('s.key')).toString());
  return { ca: f('ca.crt'), cert: f('s.crt'), key: f('s.key'), pem: f('s.pem') };
}

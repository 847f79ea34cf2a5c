import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of one certificate. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/**
 * A throwaway PKI made with the openssl command: a CA, and certificates it signs (a server's for
 * 127.0.0.1 and localhost, clients' with a common name). A second, unrelated CA makes certificates
 * nobody trusts.
 */
export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'nerve-pki-'));
  readonly ca: CertFiles;
  private serial = 1;

  constructor(name = 'ca') {
    this.ca = { cert: join(this.dir, `${name}.crt`), key: join(this.dir, `${name}.key`) };
    this.openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=Nerve test ${name}`,
      '-keyout',
      this.ca.key,
      '-out',
      this.ca.cert,
    ]);
  }

  /** A certificate for `cn`, with SANs (`DNS:localhost,IP:127.0.0.1` for servers). */
  issue(file: string, cn: string, san = 'DNS:localhost,IP:127.0.0.1'): CertFiles {
    const key = join(this.dir, `${file}.key`);
    const csr = join(this.dir, `${file}.csr`);
    const cert = join(this.dir, `${file}.crt`);
    const ext = join(this.dir, `${file}.ext`);
    writeFileSync(ext, `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    this.openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      key,
      '-out',
      csr,
    ]);
    this.openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      this.ca.cert,
      '-CAkey',
      this.ca.key,
      '-days',
      '2',
      '-set_serial',
      String(this.serial++ + Math.floor(Math.random() * 1e6)),
      '-extfile',
      ext,
      '-out',
      cert,
    ]);
    return { cert, key };
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { stdio: 'ignore' });
  }
}

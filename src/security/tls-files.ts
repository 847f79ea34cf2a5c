import { readFileSync } from 'node:fs';

/** Certificate files of a TLS endpoint; with `ca`, peers must present a certificate it signed (mTLS). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

/**
 * What a process presents when it calls the control plane: a bearer token (JWT or API key) and, over
 * TLS, the CA it trusts and its own certificate (mTLS). Files are read at each connection, so a renewed
 * certificate is used from the next reconnect on.
 */
export interface ClientCredentials {
  readonly token?: string;
  /** Calls over TLS, trusting `ca` (the system's roots when absent), presenting cert/key when given. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

/** Node's TLS options for a client of `creds.tls`, files read now. */
export function clientTlsOptions(tls: NonNullable<ClientCredentials['tls']>): {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
} {
  return {
    ca: tls.ca ? readFileSync(tls.ca) : undefined,
    cert: tls.cert ? readFileSync(tls.cert) : undefined,
    key: tls.key ? readFileSync(tls.key) : undefined,
  };
}

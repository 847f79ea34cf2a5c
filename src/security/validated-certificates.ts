import type * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { TlsFiles } from './tls-files';
import { watchTlsFiles } from './tls-reload';

type CaListener = (update: { caCertificate: Buffer } | null) => void;
type IdentityListener = (update: { certificate: Buffer; privateKey: Buffer } | null) => void;

/**
 * A grpc-js certificate provider over TLS files that publishes a renewed set only when it loads whole:
 * a certificate and key that match, a CA that parses. A renewal half written, or a key that does not
 * match its certificate, is reported and skipped, and the last good set keeps serving, as the REST
 * port does (grpc-js's own file watcher publishes whatever it reads, and every handshake then failed).
 */
export class ValidatedCertificateProvider implements grpc.experimental.CertificateProvider {
  private identity: { certificate: Buffer; privateKey: Buffer };
  private ca: { caCertificate: Buffer } | null;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly stop: () => void;

  constructor(files: TlsFiles, onError: (err: Error) => void = () => undefined, refreshMs = 2_000) {
    const first = load(files); // at start a bad set is fatal: nothing good to keep
    this.identity = first.identity;
    this.ca = first.ca;
    this.stop = watchTlsFiles(
      { cert: files.cert, key: files.key, ca: files.ca },
      () => {
        const next = load(files);
        this.identity = next.identity;
        this.ca = next.ca;
        for (const l of this.identityListeners) l(this.identity);
        for (const l of this.caListeners) l(this.ca);
      },
      onError,
      refreshMs,
    );
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    // Later, not now: grpc-js registers its watcher after adding the listener.
    setImmediate(() => this.caListeners.has(listener) && listener(this.ca));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    setImmediate(() => this.identityListeners.has(listener) && listener(this.identity));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
  }

  close(): void {
    this.stop();
  }
}

/** Reads the files and proves they make a TLS context (throws naming the problem otherwise). */
function load(files: TlsFiles): {
  identity: { certificate: Buffer; privateKey: Buffer };
  ca: { caCertificate: Buffer } | null;
} {
  const certificate = readFileSync(files.cert);
  const privateKey = readFileSync(files.key);
  const ca = files.ca ? readFileSync(files.ca) : undefined;
  createSecureContext({ cert: certificate, key: privateKey, ...(ca && { ca }) });
  return { identity: { certificate, privateKey }, ca: ca ? { caCertificate: ca } : null };
}

import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * The identity a verified client certificate proves: its first SPIFFE-style URI SAN (as Istio binds
 * workloads), else its subject common name. Undefined for plaintext or unverified peers: a certificate
 * the CA did not sign proves nothing.
 */
export function certificateIdentity(socket: Socket | undefined): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  return identityOf(cert.subjectaltname, cert.subject?.CN);
}

/** From a certificate's subjectAltName string (`URI:spiffe://…, DNS:…`) and common name. */
export function identityOf(subjectAltName: string | undefined, commonName: unknown): string | undefined {
  const uri = /(?:^|,\s*)URI:([^,\s]+)/.exec(subjectAltName ?? '');
  if (uri) return uri[1];
  return typeof commonName === 'string' && commonName !== '' ? commonName : undefined;
}

import type * as grpc from '@grpc/grpc-js';
import type { Credentials } from './authenticator';
import { identityOf } from './certificate-identity';
import { FORWARDED_PROOF, forwardedPeer } from './forwarded-peer';

/** The part of a grpc-js server call credentials come from. */
export interface CallWithCredentials {
  readonly metadata: grpc.Metadata;
  /**
   * A text header's first value, where the call can tell without building its metadata (our own HTTP/2
   * layer's calls: an xDS stream would otherwise hold a Metadata for its life to answer one lookup).
   */
  headerValue?(name: string): string | undefined;
  getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string; subject?: { CN?: unknown } } } | null;
}

/**
 * What a gRPC call presents: metadata `authorization` / `x-api-key`, and a verified client certificate
 * (its identity as the front door vouched for it, on a call it passed on).
 */
export function grpcCredentials(call: CallWithCredentials): Credentials {
  const text = (key: string) => textHeader(call, key);
  const forwarded = forwardedPeer(text);
  const cert = call.getAuthContext()?.sslPeerCertificate;
  return {
    authorization: text('authorization'),
    apiKey: text('x-api-key'),
    certificate: forwarded
      ? forwarded.identity
      : cert
        ? identityOf(cert.subjectaltname, cert.subject?.CN)
        : undefined,
  };
}

/** The caller's address: the one the front door vouched for on a call it passed on, else the connection's. */
export function grpcPeer(call: CallWithCredentials & { getPeer(): string }): string {
  if (textHeader(call, FORWARDED_PROOF) === undefined) return call.getPeer();
  return forwardedPeer((key) => textHeader(call, key))?.peer ?? call.getPeer();
}

function textHeader(call: CallWithCredentials, key: string): string | undefined {
  if (call.headerValue) return call.headerValue(key);
  const v = call.metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

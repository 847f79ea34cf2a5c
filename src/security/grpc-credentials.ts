import type * as grpc from '@grpc/grpc-js';
import type { Credentials } from './authenticator';
import { identityOf } from './certificate-identity';

/** The part of a grpc-js server call credentials come from. */
export interface CallWithCredentials {
  readonly metadata: grpc.Metadata;
  getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string; subject?: { CN?: unknown } } } | null;
}

/** What a gRPC call presents: metadata `authorization` / `x-api-key`, and a verified client certificate. */
export function grpcCredentials(call: CallWithCredentials): Credentials {
  const text = (key: string) => {
    const v = call.metadata.get(key)[0];
    return typeof v === 'string' ? v : undefined;
  };
  const cert = call.getAuthContext()?.sslPeerCertificate;
  return {
    authorization: text('authorization'),
    apiKey: text('x-api-key'),
    certificate: cert ? identityOf(cert.subjectaltname, cert.subject?.CN) : undefined,
  };
}

import * as grpc from '@grpc/grpc-js';
import type { TlsFiles } from '../security/tls-files';
import { ValidatedCertificateProvider } from '../security/validated-certificates';
export type { TlsFiles };

/** Binds an insecure gRPC server and resolves with the port it got (0 asks for a free one). */
export function bindInsecure(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
}

/**
 * Graceful stop: no new calls, calls in flight finish, then the server closes; after graceMs whatever is
 * left is cut. `endStreams` runs once shutdown has begun, for long-lived streams that never end themselves.
 */
export function shutdownGracefully(
  server: grpc.Server,
  graceMs: number,
  endStreams?: () => void,
): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
    endStreams?.();
  });
}

/**
 * Binds over TLS (mTLS when `tls.ca` is set) and resolves with the port. Renewed files are picked up
 * within `refreshMs`, for new connections, without a restart; a renewal half written or a key that does
 * not match its certificate is reported through `onError` and skipped: the last good pair keeps serving.
 */
export function bindTls(
  server: grpc.Server,
  host: string,
  port: number,
  tls: TlsFiles,
  refreshMs = 2_000,
  onError: (err: Error) => void = () => undefined,
): Promise<number> {
  const provider = new ValidatedCertificateProvider(tls, onError, refreshMs);
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    provider,
    tls.ca ? provider : null,
    Boolean(tls.ca),
  );
  return new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, credentials, (err, bound) => {
      if (err) {
        provider.close();
        reject(err);
      } else resolve(bound);
    }),
  );
}

import * as grpc from '@grpc/grpc-js';

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

/** Certificate files of a TLS listener (a CA makes client certificates required: mTLS). */
export interface GrpcTlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

/**
 * Binds over TLS (mTLS when `tls.ca` is set) and resolves with the port. Certificates come from
 * grpc-js's file-watching provider: renewed files are picked up within `refreshMs`, for new
 * connections, without a restart; a half-written renewal keeps the last good pair.
 */
export function bindTls(
  server: grpc.Server,
  host: string,
  port: number,
  tls: GrpcTlsFiles,
  refreshMs = 5_000,
): Promise<number> {
  const identity = new grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: tls.cert,
    privateKeyFile: tls.key,
    refreshIntervalMs: refreshMs,
  });
  const ca = tls.ca
    ? new grpc.experimental.FileWatcherCertificateProvider({
        caCertificateFile: tls.ca,
        refreshIntervalMs: refreshMs,
      })
    : null;
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(
    identity,
    ca,
    Boolean(tls.ca),
  );
  return new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

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

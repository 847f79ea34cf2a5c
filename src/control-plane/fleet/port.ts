import { createServer } from 'node:net';

/**
 * A port free on `host` now: the kernel picks one for a listener that closes at once. Another process
 * could take it before the instance binds; the instance then fails to start and is restarted on it,
 * which the crash backoff bounds.
 */
export function allocatePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

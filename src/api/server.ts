import type * as http from 'node:http';
import type { Express } from 'express';

export interface HttpHandle {
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port (0 picks one) and reports the port it got. */
export function listenHttp(app: Express, host: string, port: number): Promise<HttpHandle> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => {
      if (err) return reject(err);
      const a = server.address();
      resolve({
        server,
        port: typeof a === 'object' && a ? a.port : port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}

import * as http2 from 'node:http2';
import { UpstreamPool } from '../../src/router/proxy/upstream-pool';
import { logger } from '../helpers/cluster';
import { TcpRelay } from '../helpers/tcp-relay';
import { waitFor } from '../helpers/wait';

describe('upstream connection keepalive', () => {
  it('keeps an idle connection that answers pings, closes one whose peer went silent', async () => {
    let pings = 0;
    const server = http2.createServer();
    server.on('session', (s) => s.on('ping', () => pings++));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const relay = await TcpRelay.start({ host: '127.0.0.1', port });
    const pool = new UpstreamPool(logger, { timeMs: 200, timeoutMs: 200 }, 200);
    try {
      const address = `127.0.0.1:${relay.port}`;
      const first = pool.connection(address);
      const closed = new Promise<string>((resolve) => {
        const poolOnClose = first.onClose;
        first.onClose = (why) => {
          poolOnClose?.(why);
          resolve(why);
        };
      });
      await waitFor(() => pings >= 2, 'two keepalive pings on the idle connection');
      expect(first.destroyed).toBe(false);
      expect(pool.connection(address)).toBe(first);

      relay.freeze(); // the peer goes silent: no reset, no FIN
      expect(await closed).toBe(`${address}: no PING answer within 200 ms`); // 200 ms idle, 200 ms unanswered
      // The relay, frozen, accepts connections and never answers: the new one goes the same way.
      const second = pool.connection(address);
      expect(second).not.toBe(first);
      await waitFor(() => second.destroyed, 'the second connection closed');
      expect(second.closeReason).toBe(`${address}: no PING answer within 200 ms`);
    } finally {
      pool.closeAll();
      await relay.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

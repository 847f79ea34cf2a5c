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
      const first = pool.session(address);
      const closed = new Promise<void>((resolve) => first.once('close', () => resolve()));
      await waitFor(() => pings >= 2, 'two keepalive pings on the idle connection');
      expect(first.destroyed).toBe(false);
      expect(pool.session(address)).toBe(first);

      relay.freeze(); // the peer goes silent: no reset, no FIN
      await closed; // 200 ms idle, then 200 ms without a PING answer
      // The relay, frozen, accepts connections and never answers: the new one goes the same way.
      const second = pool.session(address);
      expect(second).not.toBe(first);
      const error = await new Promise<Error>((resolve) => second.once('error', resolve));
      expect(error.message).toBe(`${address}: no PING answer within 200 ms`);
    } finally {
      pool.closeAll();
      await relay.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

import type * as net from 'node:net';
import { H2Server } from '../../src/protocol/h2/server';
import { headerValue } from '../../src/router/http/headers';
import { runPython } from '../helpers/process';

/**
 * The router's HTTP/2 server against an independent HTTP/2 implementation, Python's h2 (hyper-h2):
 * its state machine and HPACK (Huffman, indexing, a peer table that shrinks to 0 and grows back) for
 * twenty calls on one connection, one of 1 MiB each way, and raw frames for protocol violations.
 */
describe('interop: python3-h2 (an independent HTTP/2 implementation) against the router HTTP/2 server', () => {
  let server: H2Server;
  let port: number;

  beforeAll(async () => {
    server = new H2Server((stream) => {
      stream.respond([':status', '200', 'x-echo', headerValue(stream.headers, 'x-echo') ?? ''], false);
      stream.attach({
        onHeaders: () => undefined,
        onData: (s, chunk) => void s.write(chunk),
        onEnd: (s) => s.end(['grpc-status', '0']),
        onReset: () => undefined,
        onDrain: () => undefined,
      });
    });
    await new Promise<void>((r) => server.server.listen(0, '127.0.0.1', r));
    port = (server.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const c of server.connections) c.destroy('test over');
    await new Promise<void>((r) => server.server.close(() => r()));
  });

  it('serves h2 well-formed calls and answers its protocol violations as RFC 9113 says', async () => {
    const stdout = await runPython('h2_peer.py', ['127.0.0.1', String(port)], 60_000);
    expect(JSON.parse(stdout)).toEqual({
      well_formed: { ok: true, calls: 20 },
      priority_idle: ['alive'],
      priority_self: ['rst', 3, 1],
      data_idle: ['goaway', 1],
      rst_idle: ['goaway', 1],
      window_update_idle: ['goaway', 1],
      continuation_without_headers: ['goaway', 1],
      enable_push_2: ['goaway', 1],
      initial_window_too_large: ['goaway', 3],
      missing_scheme: ['rst', 1, 1],
      duplicate_path: ['rst', 1, 1],
      uppercase_name: ['rst', 1, 1],
      decreasing_stream_id: ['goaway', 1],
    });
  });
});

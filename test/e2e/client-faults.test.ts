import { invoke, TestCluster } from '../helpers/cluster';
import { E, F, GRPC, RawPeer, T, block, frame, headers, u32 } from '../helpers/raw-h2';

/**
 * A client's bad request never counts against an instance (RFC 9113 §8.1.1: an intermediary refuses
 * malformed requests itself). Requests malformed in their headers never leave the router; requests that
 * go bad once forwarded (DATA past content-length, pseudo-headers in trailers, a caller's reset or flow
 * control error) end as the caller's cancel, which breakers and outlier detection do not count. The
 * engine is as strict as it gets: one failure ejects an instance, two open its circuit.
 */
describe('never blaming an instance for a client fault', () => {
  let cluster: TestCluster;
  const path = '/nerve.engine.v1.Engine/Invoke';
  const request = (...extra: string[]) =>
    block(':method', 'POST', ':scheme', 'http', ':path', path, ':authority', 'strict', ...GRPC, ...extra);
  const message = Buffer.from([0, 0, 0, 0, 2, 0x0a, 0x00]); // an InvokeRequest with an empty operation

  beforeAll(async () => {
    cluster = await TestCluster.start([
      {
        name: 'strict',
        type: 'echo',
        instances: 2,
        policy: {
          healthCheck: { timeoutMs: 2_000, unhealthyThreshold: 3 },
          outlier: { consecutiveErrors: 1 },
          breaker: { minimumCalls: 2, failureRateThreshold: 1, windowSize: 10 },
          retry: { maxAttempts: 1 },
        },
      },
    ]);
  });
  afterAll(async () => cluster?.stop());

  const stats = () => ['strict-1', 'strict-2'].map((id) => cluster.router.state.instanceStats('strict', id)!);

  it('refuses malformed requests at the ingress and counts only what instances did', async () => {
    const before = stats().map((s) => s.totalRequests);
    const peer = await RawPeer.connect(cluster.router.port);
    try {
      // Malformed in their headers: refused before routing (RST_STREAM PROTOCOL_ERROR).
      const malformed = [
        block(':method', 'POST', ':path', path, ':authority', 'strict', ...GRPC), // no :scheme
        request(':path', path), // :path twice
        request('x-v', 'a\r\nb'), // CR LF in a value
        request('Upper', '1'),
        request('connection', 'close'),
        request('content-length', 'ten'),
      ];
      let id = 1;
      for (const fields of malformed) {
        peer.send(headers(id, fields), frame(T.DATA, F.END_STREAM, id, message));
        await peer.streamError(id, E.PROTOCOL_ERROR);
        id += 2;
      }
      expect(stats().map((s) => s.totalRequests)).toEqual(before); // nothing reached an instance

      // Bad once forwarded: the caller's stream is reset; the upstream attempt is cancelled.
      const lateFaults: Buffer[][] = [
        [headers(id, request('content-length', '3')), frame(T.DATA, F.END_STREAM, id, message)],
        [
          headers(id + 2, request()),
          frame(T.DATA, 0, id + 2, message),
          headers(id + 2, block(':path', '/x'), F.END_HEADERS | F.END_STREAM),
        ],
        [headers(id + 4, request()), frame(T.DATA, 0, id + 4, message), headers(id + 4, block('x-t', '1'))],
        [
          headers(id + 6, request()),
          frame(T.DATA, 0, id + 6, message),
          frame(T.RST_STREAM, 0, id + 6, u32(E.CANCEL)),
        ],
        [headers(id + 8, request()), frame(T.WINDOW_UPDATE, 0, id + 8, u32(0))],
      ];
      for (const parts of lateFaults) peer.send(...parts);
      for (const n of [0, 2, 4, 8])
        await peer.next((f) => f.type === T.RST_STREAM && f.id === id + n, `reset ${id + n}`);
      await peer.alive();
    } finally {
      peer.close();
    }
    for (const s of stats()) {
      expect(s.consecutiveFailures).toBe(0);
      expect(s.ejectedUntil).toBe(0);
    }
    expect(cluster.routable('strict')).toEqual(['strict-1', 'strict-2']);
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.router.adminPort}/metrics`)).text();
    expect(metrics).not.toMatch(
      /nerve_router_errors_total\{engine="strict",[^}]*code="(UNAVAILABLE|INTERNAL|UNKNOWN)"/,
    );
    expect(metrics).toMatch(/nerve_router_circuit_state\{engine="strict",instance="strict-1"[^}]*\} 0\n/);
    expect(metrics).toMatch(/nerve_router_malformed_requests_total\{reason="missing :scheme"[^}]*\} 1\n/);
    // And the engine serves well-formed calls on both instances as before.
    const client = cluster.engineClient();
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) served.add((await invoke(client, 'strict', 'echo', 'x')).instanceId);
    expect([...served].sort()).toEqual(['strict-1', 'strict-2']);
  });
});

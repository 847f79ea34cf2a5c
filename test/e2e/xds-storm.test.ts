import type { ControlPlane } from '../../src/control-plane/control-plane';
import { internals } from '../helpers/internals';
import { type AdsStream, createAdsClient, type DiscoveryResponse } from '../../src/protocol/ads';
import { ENGINE_CLUSTER_TYPE } from '../../src/protocol/type-urls';
import { engineSpec, startControlPlane } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

/** A raw SotW stream of its own connection, counting what it receives; it ACKs only when told. */
class Plane {
  readonly client: ReturnType<typeof createAdsClient>;
  readonly stream: AdsStream;
  readonly responses: DiscoveryResponse[] = [];
  error: string | undefined;
  constructor(
    port: number,
    readonly id: string,
    readonly ack: boolean,
  ) {
    this.client = createAdsClient(`127.0.0.1:${port}`, undefined, { 'nerve.test.plane': id });
    this.stream = this.client.StreamAggregatedResources();
    this.stream.on('data', (r: DiscoveryResponse) => {
      this.responses.push(r);
      if (this.ack) this.send(r.version_info, r.nonce);
    });
    this.stream.on('error', (e: Error) => (this.error = e.message));
    this.send('', '');
  }
  send(version: string, nonce: string, names: string[] = []): void {
    this.stream.write({
      version_info: version,
      node: { id: this.id, cluster: 't' },
      resource_names: names,
      type_url: ENGINE_CLUSTER_TYPE,
      response_nonce: nonce,
      error_detail: null,
    });
  }
  close(): void {
    this.stream.cancel();
    this.client.close();
  }
}

/**
 * Storm control, wired (its rules: storm-control.test.ts): first responses a few at a time in the order
 * streams came, a place given back by an ACK or after the hold; a client flooding requests slowed down,
 * not cut off, while the others are served.
 */
describe('xDS storm control', () => {
  let cp: ControlPlane;
  const planes: Plane[] = [];
  const plane = (id: string, ack: boolean) => {
    const p = new Plane(cp.port, id, ack);
    planes.push(p);
    return p;
  };

  beforeAll(async () => {
    cp = await startControlPlane(
      [engineSpec({ name: 'calc', instances: [{ id: 'c1', address: '127.0.0.1:1' }] })],
      {
        healthChecks: false,
        xds: { firstResponses: 2, firstResponseHoldMs: 1_500, requestsPerSecond: 20, requestBurst: 5 },
      },
    );
  });
  afterAll(async () => {
    for (const p of planes) p.close();
    await cp?.stop(500);
  });

  it('gives first responses two at a time, in turn: an ACK frees a place at once, silence after the hold', async () => {
    const silent = [plane('silent-1', false), plane('silent-2', false)];
    await waitFor(() => silent.every((p) => p.responses.length === 1), 'the two first responses');
    const waiting = [plane('waiting-1', true), plane('waiting-2', true)];
    await waitFor(() => internals(cp).ads.firstResponseQueue().waiting === 2, 'two streams in line');
    expect(waiting.map((p) => p.responses.length)).toEqual([0, 0]);
    // The silent clients never ACK: their places come back after the hold, and the line moves.
    const started = Date.now();
    await waitFor(() => waiting.every((p) => p.responses.length === 1), 'the waiting streams served', 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // Those ACK: their places are free again at once.
    await waitFor(() => internals(cp).ads.firstResponseQueue().inFlight === 0, 'places back');
    const quick = plane('quick', true);
    await waitFor(() => quick.responses.length === 1, 'a first response with places free');
  });

  it('slows a client that floods requests to its budget, and keeps serving the others', async () => {
    const flood = plane('flood', true);
    const calm = plane('calm', true);
    await waitFor(() => flood.responses.length === 1 && calm.responses.length === 1, 'both served');
    // 60 requests at once, each a new subscription (to names that do not exist: no response to ACK):
    // 5 go at once, the rest at 20 a second, so the last is taken about 2.75 s later.
    const started = Date.now();
    for (let i = 0; i < 60; i++) flood.send(flood.responses[0].version_info, '', [`n${i}`]);
    const subscribed = () =>
      internals(cp)
        .ads.clients()
        .find((c) => c.nodeId === 'flood')?.types[0].subscribed ?? [];
    // Meanwhile a change reaches the calm client at once.
    await cp.admin.setInstanceWeight('calc', 'c1', 42);
    await waitFor(() => calm.responses.length === 2, 'the change at the calm client');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(subscribed()).not.toEqual(['n59']);
    // The flooding client was slowed, not cut off: its last request is taken in its turn.
    await waitFor(() => subscribed()[0] === 'n59', 'the last request taken', 10_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(flood.error).toBeUndefined();
  });
});

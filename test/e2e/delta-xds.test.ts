import { internals } from '../helpers/internals';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import { parseEngineSpec } from '../../src/model/validate';
import {
  createAdsClient,
  type DeltaAdsStream,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../src/protocol/ads';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE, ROUTE_CONFIGURATION_TYPE } from '../../src/protocol/type-urls';
import { MemoryStore } from '../../src/store/memory-store';
import { logger } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

/** A raw delta ADS stream with a queue of received responses. */
class DeltaScript {
  private readonly queue: DeltaDiscoveryResponse[] = [];
  private readonly waiters: ((r: DeltaDiscoveryResponse) => void)[] = [];
  readonly stream: DeltaAdsStream;
  private readonly client: ReturnType<typeof createAdsClient>;

  constructor(port: number) {
    this.client = createAdsClient(`127.0.0.1:${port}`);
    this.stream = this.client.DeltaAggregatedResources();
    this.stream.on('data', (r: DeltaDiscoveryResponse) => {
      const w = this.waiters.shift();
      if (w) w(r);
      else this.queue.push(r);
    });
    this.stream.on('error', () => undefined);
  }

  send(partial: Partial<DeltaDiscoveryRequest>): void {
    this.stream.write({
      node: { id: 'delta-script', cluster: 't' },
      type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      error_detail: null,
      ...partial,
    });
  }

  next(): Promise<DeltaDiscoveryResponse> {
    const r = this.queue.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no delta response within 5 s')), 5000);
      this.waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
    });
  }

  ack(r: DeltaDiscoveryResponse): void {
    this.send({ type_url: r.type_url, response_nonce: r.nonce });
  }

  close(): void {
    this.stream.cancel();
    this.client.close();
  }
}

const names = (r: DeltaDiscoveryResponse) => r.resources.map((x) => x.name).sort();

describe('delta xDS (DeltaAggregatedResources), scripted on a raw stream', () => {
  let cp: ControlPlane;
  let store: MemoryStore;
  const engines: DemoEngine[] = [];

  beforeAll(async () => {
    store = new MemoryStore();
    const specs = [];
    for (const name of ['a', 'b']) {
      const e = await new DemoEngine({
        type: 'echo',
        name,
        id: `${name}-1`,
        host: '127.0.0.1',
        port: 0,
        logger,
      }).start();
      engines.push(e);
      const r = parseEngineSpec({
        name,
        instances: [{ id: e.id, address: e.address }],
        policy: { healthCheck: { intervalMs: 60_000 } },
      });
      if (!r.ok) throw new Error(r.errors.join());
      specs.push(r.value);
    }
    cp = await ControlPlane.start({ store, logger, host: '127.0.0.1', xdsPort: 0, engines: specs });
    await waitFor(async () => (await cp.admin.views.health()).status === 'healthy', 'healthy engines');
    await cp.flush();
  });

  afterAll(async () => {
    await cp.stop(200);
    await Promise.all(engines.map((e) => e.stop(100)));
  });

  it('sends everything once, then only what changed, and deletions as removed_resources', async () => {
    const s = new DeltaScript(cp.port);
    try {
      s.send({ resource_names_subscribe: ['*'] });
      const first = await s.next();
      expect(names(first)).toEqual(['a/v1', 'b/v1']);
      expect(first.removed_resources).toEqual([]);
      expect(
        first.resources.every(
          (r) => r.version.length > 0 && r.resource?.type_url === CLUSTER_LOAD_ASSIGNMENT_TYPE,
        ),
      ).toBe(true);
      s.ack(first);

      await cp.admin.setInstanceWeight('a', 'a-1', 7);
      const changed = await s.next();
      expect(names(changed)).toEqual(['a/v1']);
      expect(changed.resources[0].version).not.toBe(first.resources.find((r) => r.name === 'a/v1')!.version);
      s.ack(changed);

      await internals(cp).engines.delete('b', { actor: 'test', summary: 'delete b' });
      const removed = await s.next();
      expect(removed.resources).toEqual([]);
      expect(removed.removed_resources).toEqual(['b/v1']);
      s.ack(removed);
      await waitFor(
        () =>
          internals(cp)
            .ads.clients()
            .find((c) => c.nodeId === 'delta-script')?.types[0].inSync,
        'the stream in sync',
      );
    } finally {
      s.close();
    }
  });

  it('on reconnect sends only what differs from initial_resource_versions', async () => {
    // Whatever the tests before left (this one runs alone too): every resource at its current version.
    const resources = internals(cp).cache.snapshot.types.get(CLUSTER_LOAD_ASSIGNMENT_TYPE)!.resources;
    const held = Object.fromEntries([...resources].map(([name, r]) => [name, r.version]));
    const version = held['a/v1'];
    const current = new DeltaScript(cp.port);
    const stale = new DeltaScript(cp.port);
    try {
      // Holds the current resources and a deleted one: nothing to add, one to remove.
      current.send({
        resource_names_subscribe: ['*'],
        initial_resource_versions: { ...held, 'gone/v1': 'x' },
      });
      const r1 = await current.next();
      expect(r1.resources).toEqual([]);
      expect(r1.removed_resources).toEqual(['gone/v1']);
      // Holds an old a/v1: gets the new one, and only it.
      stale.send({ resource_names_subscribe: ['*'], initial_resource_versions: { ...held, 'a/v1': 'old' } });
      const r2 = await stale.next();
      expect(names(r2)).toEqual(['a/v1']);
      expect(r2.resources[0].version).toBe(version);
    } finally {
      current.close();
      stale.close();
    }
  });

  it('honours an unsubscribe even on a stale nonce', async () => {
    const s = new DeltaScript(cp.port);
    try {
      s.send({ type_url: ROUTE_CONFIGURATION_TYPE, resource_names_subscribe: ['a'] });
      const routes = await s.next();
      expect(names(routes)).toEqual(['a']);
      s.send({ type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE, resource_names_subscribe: ['a/v1'] });
      const cla = await s.next();
      expect(names(cla)).toEqual(['a/v1']);
      s.ack(cla);
      // The route response is still unanswered; this request carries an older, unknown nonce.
      s.send({
        type_url: ROUTE_CONFIGURATION_TYPE,
        resource_names_unsubscribe: ['a'],
        response_nonce: 'stale',
      });

      // Change a's route and its endpoints: only the endpoints may come.
      const spec = (await internals(cp).engines.get('a'))!;
      await internals(cp).engines.put(
        {
          ...spec,
          policy: { ...spec.policy, timeoutMs: 4321 },
          instances: [{ ...spec.instances[0], weight: 9 }],
        },
        { actor: 'test', summary: 'change a' },
      );
      const next = await s.next();
      expect(next.type_url).toBe(CLUSTER_LOAD_ASSIGNMENT_TYPE);
      expect(names(next)).toEqual(['a/v1']);
      const status = internals(cp)
        .ads.clients()
        .find((c) => c.nodeId === 'delta-script')!
        .types.find((t) => t.typeUrl === ROUTE_CONFIGURATION_TYPE)!;
      expect(status.subscribed).toEqual([]);
      expect(status.responses).toBe(1);
    } finally {
      s.close();
    }
  });

  it('records a NACK and does not resend the rejected resource', async () => {
    const s = new DeltaScript(cp.port);
    try {
      s.send({ resource_names_subscribe: ['a/v1'] });
      const r = await s.next();
      s.send({ response_nonce: r.nonce, error_detail: { code: 3, message: 'a/v1 is not acceptable' } });
      const status = await waitFor(
        () =>
          internals(cp)
            .ads.clients()
            .find((c) => c.nodeId === 'delta-script')
            ?.types.find((t) => t.nack)?.nack,
        'the NACK recorded',
      );
      expect(status.error).toBe('a/v1 is not acceptable');
      // The rejected version is not sent again; the next message is a real change to a/v1.
      await cp.admin.addInstance({ engine: 'a', id: 'a-2', address: '127.0.0.1:9' });
      const next = await s.next();
      expect(names(next)).toEqual(['a/v1']);
      expect(next.resources[0].version).not.toBe(r.resources[0].version);
    } finally {
      s.close();
    }
  });
});

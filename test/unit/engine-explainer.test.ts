import { EngineExplainer } from '../../src/control-plane/explain/engine-explainer';
import type { HealthTransition } from '../../src/control-plane/health/health-history';
import { ENGINE_KIND, toDocument } from '../../src/model/engine-document';
import { MemoryStore } from '../../src/store/memory-store';
import { engineSpec } from '../helpers/cluster';

const spec = (v2Weight: number) =>
  engineSpec({
    name: 'calc',
    versions: [
      { name: 'v1', weight: 100 - v2Weight },
      { name: 'v2', weight: v2Weight },
    ],
    instances: [
      { id: 'a', address: '127.0.0.1:1', version: 'v1' },
      { id: 'b', address: '127.0.0.1:2', version: 'v2' },
    ],
  });

describe('EngineExplainer: the configuration in force at a moment, and the versions’ shares then', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('finds the spec of each moment in the log, and shares follow the instances in rotation', async () => {
    const store = new MemoryStore();
    const put = (v2: number) =>
      store.commit({
        actor: 'alice',
        summary: `v2 at ${v2}`,
        ops: [{ op: 'put', kind: ENGINE_KIND, name: 'calc', value: toDocument(spec(v2)) }],
      });
    const first = await put(10);
    jest.setSystemTime(first.at + 1_000);
    const second = await put(30);
    const transitions: HealthTransition[] = [];
    let now = second.at + 10_000;
    const explainer = new EngineExplainer(
      store,
      () => transitions,
      () => true,
      () => now,
    );

    const before = await explainer.at('calc', first.at - 1);
    expect(before).toMatchObject({ configVersion: 0, configured: false, instances: [] });
    const atFirst = await explainer.at('calc', first.at);
    expect(atFirst.configVersion).toBe(1);
    expect(atFirst.versions.map((v) => [v.name, v.weight, v.sharePercent])).toEqual([
      ['v1', 90, 90],
      ['v2', 10, 10],
    ]);
    expect((await explainer.at('calc', second.at)).versions.map((v) => v.sharePercent)).toEqual([70, 30]);
    // v2's only instance drained: v1 takes every call.
    const drainedAt = second.at + 5_000;
    transitions.push({
      at: new Date(drainedAt).toISOString(),
      atMs: drainedAt,
      instance: 'b',
      from: 'serving',
      to: 'draining',
      reason: 'drained by alice: no new calls',
      kind: 'drain',
      actor: 'alice',
    });
    const drained = await explainer.at('calc', drainedAt);
    expect(drained.versions.map((v) => v.sharePercent)).toEqual([100, 0]);
    expect(drained.instances[1]).toMatchObject({ id: 'b', inRotation: false });
    // The five minutes before: both configuration changes and the drain, oldest first.
    expect(drained.recent.map((r) => r.what)).toEqual([
      'v2 at 10',
      'v2 at 30',
      'serving → draining: drained by alice: no new calls',
    ]);
    now = drainedAt - 1;
    await expect(explainer.at('calc', drainedAt)).rejects.toThrow(/a moment in the past/);
  });
});

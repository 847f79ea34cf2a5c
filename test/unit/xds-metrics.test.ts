import { Registry } from 'prom-client';
import { ReportedHistogram } from '../../src/control-plane/metrics/reported-histogram';
import { XdsMetrics } from '../../src/control-plane/xds/xds-metrics';
import { EMPTY_SNAPSHOT, nextSnapshot } from '../../src/model/snapshot';
import { ENGINE_CLUSTER_TYPE } from '../../src/protocol/type-urls';

const line = (text: string, prefix: string) =>
  text.split('\n').find((l) => l.startsWith(prefix)) ?? `(no line ${prefix})`;

describe('ReportedHistogram observers', () => {
  it('counts single values into their buckets, cumulatively exposed', async () => {
    const registry = new Registry();
    const h = new ReportedHistogram('t_seconds', 'test', ['type'], registry, [0.1, 1]);
    const observe = h.observer({ type: 'a' });
    for (const v of [0.05, 0.1, 0.5, 2]) observe(v);
    const text = await registry.metrics();
    expect(line(text, 't_seconds_bucket{type="a",le="0.1"}')).toMatch(/ 2$/);
    expect(line(text, 't_seconds_bucket{type="a",le="1"}')).toMatch(/ 3$/);
    expect(line(text, 't_seconds_bucket{type="a",le="+Inf"}')).toMatch(/ 4$/);
    expect(line(text, 't_seconds_sum{type="a"}')).toMatch(/ 2.65$/);
  });

  it('keeps observing after a reset (the series is found again, not lost)', async () => {
    const registry = new Registry();
    const h = new ReportedHistogram('t_seconds', 'test', ['type'], registry, [1]);
    const observe = h.observer({ type: 'a' });
    observe(0.5);
    registry.resetMetrics();
    observe(0.5);
    expect(line(await registry.metrics(), 't_seconds_count{type="a"}')).toMatch(/ 1$/);
  });
});

describe('XdsMetrics', () => {
  it('hands pushes, ACKs, heartbeats and convergence to Prometheus when it collects', async () => {
    const registry = new Registry();
    const m = new XdsMetrics(registry, () => ({ sotw: 2, delta: 1 }));
    const snapshot = nextSnapshot(EMPTY_SNAPSHOT, new Map([[ENGINE_CLUSTER_TYPE, []]]));
    m.onSnapshot(snapshot);
    const version = snapshot.types.get(ENGINE_CLUSTER_TYPE)!.version;
    for (let i = 0; i < 3; i++) m.hooks.onPush?.(ENGINE_CLUSTER_TYPE, version, false);
    m.hooks.onPush?.(ENGINE_CLUSTER_TYPE, version, true);
    m.hooks.onAck?.(ENGINE_CLUSTER_TYPE, version);
    m.hooks.onAck?.(ENGINE_CLUSTER_TYPE, version);
    m.hooks.onHeartbeat?.(ENGINE_CLUSTER_TYPE);
    let text = await registry.metrics();
    expect(line(text, 'nerve_xds_pushes_total{type="EngineCluster",protocol="sotw"}')).toMatch(/ 3$/);
    expect(line(text, 'nerve_xds_pushes_total{type="EngineCluster",protocol="delta"}')).toMatch(/ 1$/);
    expect(line(text, 'nerve_xds_acks_total{type="EngineCluster"}')).toMatch(/ 2$/);
    expect(line(text, 'nerve_xds_heartbeats_total{type="EngineCluster"}')).toMatch(/ 1$/);
    expect(line(text, 'nerve_xds_ack_delay_seconds_count{type="EngineCluster"}')).toMatch(/ 2$/);
    expect(text).toContain('nerve_xds_convergence_seconds{type="EngineCluster"}');
    // Counts handed over are not handed over twice.
    m.hooks.onAck?.(ENGINE_CLUSTER_TYPE, version);
    text = await registry.metrics();
    expect(line(text, 'nerve_xds_acks_total{type="EngineCluster"}')).toMatch(/ 3$/);
    expect(line(text, 'nerve_xds_pushes_total{type="EngineCluster",protocol="sotw"}')).toMatch(/ 3$/);
  });
});

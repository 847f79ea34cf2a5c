import { nerveResources } from '../../src/control-plane/resources/nerve-resources';
import { envoyResources } from '../../src/control-plane/resources/envoy';
import { DeltaStream } from '../../src/control-plane/xds/delta-stream';
import { SotwStream } from '../../src/control-plane/xds/sotw-stream';
import { EMPTY_SNAPSHOT, nextSnapshot, type Snapshot } from '../../src/model/snapshot';
import { adsServiceDefinition } from '../../src/protocol/ads';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE } from '../../src/protocol/type-urls';
import { benchFleet } from './fleet';

/**
 * Bytes on the wire for a one-endpoint change in a 10,000-endpoint configuration (100 engines × 100
 * instances), for one client subscribed to every ClusterLoadAssignment: state of the world vs delta.
 * Uses the real state machines and the real message serializers.
 */
export function bytesPerPush(): { sotw: number; delta: number } {
  const specs = benchFleet(100, 100);
  const build = (prev: Snapshot, s: typeof specs) =>
    nextSnapshot(
      prev,
      new Map([...nerveResources(s, () => 'healthy'), ...envoyResources(s, () => 'healthy')]),
    );
  const before = build(EMPTY_SNAPSHOT, specs);
  const changed = specs.map((s, i) =>
    i === 0 ? { ...s, instances: s.instances.map((x, j) => (j === 0 ? { ...x, weight: 7 } : x)) } : s,
  );
  const after = build(before, changed);
  const service = adsServiceDefinition();

  let sotwBytes = 0;
  let sotwNonce = '';
  const sotw = new SotwStream({
    send: (r) => {
      sotwBytes = service.StreamAggregatedResources.responseSerialize(r).length;
      sotwNonce = r.nonce;
    },
    now: Date.now,
    controlPlaneId: 'bench',
  });
  const request = {
    version_info: '',
    node: { id: 'b', cluster: '' },
    resource_names: [],
    type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE,
    response_nonce: '',
    error_detail: null,
  };
  sotw.handleRequest(request, before);
  sotw.handleRequest({ ...request, response_nonce: sotwNonce }, before);
  sotw.onSnapshot(after);

  let deltaBytes = 0;
  let deltaNonce = '';
  const delta = new DeltaStream({
    send: (r) => {
      deltaBytes = service.DeltaAggregatedResources.responseSerialize(r).length;
      deltaNonce = r.nonce;
    },
    now: Date.now,
    controlPlaneId: 'bench',
  });
  const dreq = {
    node: { id: 'b', cluster: '' },
    type_url: CLUSTER_LOAD_ASSIGNMENT_TYPE,
    resource_names_subscribe: ['*'],
    resource_names_unsubscribe: [],
    initial_resource_versions: {},
    response_nonce: '',
    error_detail: null,
  };
  delta.handleRequest(dreq, before);
  delta.handleRequest({ ...dreq, resource_names_subscribe: [], response_nonce: deltaNonce }, before);
  delta.onSnapshot(after);
  return { sotw: sotwBytes, delta: deltaBytes };
}

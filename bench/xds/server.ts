/**
 * Benchmark server process. Mode "nerve": the real control plane. Mode "baseline": a bare ADS server that
 * writes one fixed response to every stream on a change, with no protocol logic: the transport's floor.
 * Driven over IPC: {cmd:"change"} → {t0}; {cmd:"stats"} → {rss, cpuMicros}.
 */
import * as grpc from '@grpc/grpc-js';
import { startApi } from '../../src/api/server';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { nerveResources } from '../../src/control-plane/resources/nerve-resources';
import { createLogger } from '../../src/observability/logger';
import { adsServiceDefinition, type DiscoveryRequest, type DiscoveryResponse } from '../../src/protocol/ads';
import { bindInsecure } from '../../src/protocol/grpc-server';
import { ENGINE_CLUSTER_TYPE } from '../../src/protocol/type-urls';
import { MemoryStore } from '../../src/store/memory-store';
import { benchFleet } from './fleet';

const mode = process.argv[2];
const now = () => performance.timeOrigin + performance.now();
const send = (m: object) => process.send!(m);

async function nerve(): Promise<{ port: number; apiPort?: number; change: () => Promise<void> }> {
  const cp = await ControlPlane.start({
    store: new MemoryStore(),
    logger: createLogger('bench', 'error'),
    host: '127.0.0.1',
    xdsPort: 0,
    engines: benchFleet(10, 10),
    healthChecks: false,
    debounce: { debounceMs: 0, maxDelayMs: 0 },
  });
  const api = await startApi(cp, createLogger('bench-api', 'error'), '127.0.0.1', 0);
  let weight = 100;
  return {
    port: cp.port,
    apiPort: api.port,
    change: async () => void (await cp.admin.setInstanceWeight('engine-0', 'i-0', ++weight)),
  };
}

async function baseline(): Promise<{ port: number; apiPort?: number; change: () => Promise<void> }> {
  const server = new grpc.Server();
  const streams = new Set<grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>>();
  let version = 1;
  // The very bytes Nerve sends for the same fleet, so only the protocol work differs.
  const bodies = nerveResources(benchFleet(10, 10), () => 'unknown')
    .get(ENGINE_CLUSTER_TYPE)!
    .map((r) => Buffer.from(r.body));
  const response = (): DiscoveryResponse => ({
    version_info: String(version),
    type_url: ENGINE_CLUSTER_TYPE,
    nonce: String(version),
    resources: bodies.map((value) => ({ type_url: ENGINE_CLUSTER_TYPE, value })),
  });
  server.addService(adsServiceDefinition(), {
    StreamAggregatedResources(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) {
      call.on('data', (req: DiscoveryRequest) => {
        if (req.response_nonce === '') {
          streams.add(call);
          call.write(response());
        }
      });
      call.on('error', () => streams.delete(call));
      call.on('close', () => streams.delete(call));
    },
  });
  const port = await bindInsecure(server, '127.0.0.1', 0);
  return {
    port,
    change: async () => {
      version++;
      const r = response();
      for (const s of streams) s.write(r);
    },
  };
}

void (mode === 'baseline' ? baseline() : nerve()).then(({ port, apiPort, change }) => {
  process.on('message', (msg: { cmd: string }) => {
    if (msg.cmd === 'change') {
      const t0 = now();
      void change().then(() => send({ t0 }));
    } else if (msg.cmd === 'stats') {
      // A sample while something runs (the storm's peak) must not stop the world every time.
      if (!(msg as { noGc?: boolean }).noGc) global.gc?.();
      const cpu = process.cpuUsage();
      send({
        rss: process.memoryUsage().rss,
        cpuMicros: cpu.user + cpu.system,
        maxRss: process.resourceUsage().maxRSS * 1024,
      });
    }
  });
  send({ port, apiPort });
});

/**
 * Benchmark server process. Mode "nerve": the real control plane. Mode "baseline": a bare ADS server that
 * writes one fixed response to every stream on a change, with no protocol logic: the transport's floor.
 * Driven over IPC: {cmd:"change"} → {t0}; {cmd:"stats"} → {rss, cpuMicros}.
 */
import * as grpc from '@grpc/grpc-js';
import type * as Api from '../../src/api/server';
import type * as Resources from '../../src/control-plane/resources/nerve-resources';
import type * as Logging from '../../src/observability/logger';
import type * as Ads from '../../src/protocol/ads';
import type * as GrpcServer from '../../src/protocol/grpc-server';
import type * as Validate from '../../src/model/validate';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/protocol/ads';
import { ENGINE_CLUSTER_TYPE } from '../../src/protocol/type-urls';
import { benchFleet } from './fleet';
import { load, startBenchPlane } from './built';

const mode = process.argv[2];
const now = () => performance.timeOrigin + performance.now();
const send = (m: object) => process.send!(m);

async function nerve(): Promise<{ port: number; apiPort?: number; change: () => Promise<void> }> {
  const { startApi } = await load<typeof Api>('src/api/server.js');
  const { createLogger } = await load<typeof Logging>('src/observability/logger.js');
  const cp = await startBenchPlane('error');
  const api = await startApi(cp, createLogger('bench-api', 'error'), '127.0.0.1', 0);
  let weight = 100;
  return {
    port: cp.port,
    apiPort: api.port,
    change: async () => void (await cp.admin.setInstanceWeight('engine-0', 'i-0', ++weight)),
  };
}

async function baseline(): Promise<{ port: number; apiPort?: number; change: () => Promise<void> }> {
  const { nerveResources } = await load<typeof Resources>('src/control-plane/resources/nerve-resources.js');
  const { adsServiceDefinition } = await load<typeof Ads>('src/protocol/ads.js');
  const { bindInsecure } = await load<typeof GrpcServer>('src/protocol/grpc-server.js');
  const { parseEngineSpec } = await load<typeof Validate>('src/model/validate.js');
  const server = new grpc.Server();
  const streams = new Set<grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>>();
  let version = 1;
  // The very bytes Nerve sends for the same fleet, so only the protocol work differs.
  const bodies = nerveResources(benchFleet(10, 10, parseEngineSpec), () => 'unknown')
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

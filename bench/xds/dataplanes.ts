/**
 * Simulated data planes: N raw ADS streams (state of the world, wildcard EngineCluster subscription, as a
 * Nerve router), spread over HTTP/2 connections of at most 500 streams, each ACKing every response at once.
 * IPC: → {ready}; {cmd:"watch"}, then once every stream got a newer version → {acks: epoch ms per stream}.
 */
import * as grpc from '@grpc/grpc-js';
import { createAdsClient, type DiscoveryResponse } from '../../src/protocol/ads';
import { ENGINE_CLUSTER_TYPE } from '../../src/protocol/type-urls';

const [port, count] = process.argv.slice(2).map(Number);
const PER_CONNECTION = 500;
const now = () => performance.timeOrigin + performance.now();
const send = (m: object) => process.send!(m);

const connections = Array.from({ length: Math.ceil(count / PER_CONNECTION) }, (_, c) =>
  createAdsClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'nerve.bench.connection': c }),
);
const versions: string[] = new Array(count).fill('');
let ready = 0;
let watching: { from: string[]; acks: number[]; remaining: number } | undefined;

for (let i = 0; i < count; i++) {
  const stream = connections[Math.floor(i / PER_CONNECTION)].StreamAggregatedResources();
  stream.on('data', (r: DiscoveryResponse) => {
    stream.write({
      version_info: r.version_info,
      node: null,
      resource_names: [],
      type_url: r.type_url,
      response_nonce: r.nonce,
      error_detail: null,
    });
    const first = versions[i] === '';
    versions[i] = r.version_info;
    if (first && ++ready === count) send({ ready: true });
    if (watching && watching.acks[i] === 0 && r.version_info !== watching.from[i]) {
      watching.acks[i] = now();
      if (--watching.remaining === 0) {
        send({ acks: watching.acks });
        watching = undefined;
      }
    }
  });
  stream.on('error', (e: Error) => send({ error: e.message }));
  stream.write({
    version_info: '',
    node: { id: `dp-${i}`, cluster: 'bench' },
    resource_names: [],
    type_url: ENGINE_CLUSTER_TYPE,
    response_nonce: '',
    error_detail: null,
  });
}

process.on('message', (msg: { cmd: string }) => {
  if (msg.cmd === 'watch')
    watching = { from: versions.slice(), acks: new Array(count).fill(0), remaining: count };
});

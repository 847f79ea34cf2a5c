#!/usr/bin/env node
/**
 * A proxyless gRPC client: no router, Nerve is its xDS server. It reads the bootstrap named by
 * GRPC_XDS_BOOTSTRAP (GET /api/v1/nerve/xds/bootstrap writes one), makes `--calls` calls to
 * `xds:///ENGINE`, and prints one JSON line: how many calls each version and instance answered, and
 * the failures by gRPC code. Exits 1 when any call failed.
 *
 * usage: GRPC_XDS_BOOTSTRAP=bootstrap.json node xds-client.mjs --target xds:///math [--calls 20]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import * as protoLoader from '@grpc/proto-loader';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'xds:///math' },
    calls: { type: 'string', default: '20' },
  },
});
if (!process.env.GRPC_XDS_BOOTSTRAP) {
  console.error('xds-client: set GRPC_XDS_BOOTSTRAP to a bootstrap file (GET /api/v1/nerve/xds/bootstrap)');
  process.exit(2);
}

grpcXds.register();
const protoDir = join(import.meta.dirname, '..', '..', 'proto');
const def = protoLoader.loadSync('nerve/engine/v1/engine.proto', { includeDirs: [protoDir], keepCase: true });
const { Engine } = grpc.loadPackageDefinition(def).nerve.engine.v1;
const client = new Engine(args.target, grpc.credentials.createInsecure());

const report = { target: args.target, versions: {}, instances: {}, failures: {} };
const count = (into, key) => (into[key] = (into[key] ?? 0) + 1);
for (let i = 0; i < Number(args.calls); i++) {
  await new Promise((resolve) =>
    client.Invoke(
      { operation: 'echo', payload: Buffer.from('hello over xDS') },
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        if (err) count(report.failures, grpc.status[err.code]);
        else {
          count(report.versions, res.version);
          count(report.instances, res.instance_id);
        }
        resolve();
      },
    ),
  );
}
console.log(JSON.stringify(report));
// grpc-js-xds keeps its xDS stream and timers alive after the channel closes.
process.exit(Object.keys(report.failures).length === 0 ? 0 : 1);

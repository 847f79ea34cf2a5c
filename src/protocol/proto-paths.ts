import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Where the protos we load at run time live. Envoy's API protos are not copied into this repository:
 * they come from the pinned @grpc/grpc-js-xds package, which ships them (and their dependencies) in deps/.
 */
const xdsDeps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

export const ENVOY_INCLUDE_DIRS = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) =>
  join(xdsDeps, d),
);

/** This repository's own protos (reflection needs descriptors; ts-proto's output carries none). */
export const NERVE_PROTO_DIR = findUp(__dirname, 'buf.yaml', 'proto');

/** The same code runs from src/ (tests, tsx) and dist/src/ (built): find the folder by its marker file. */
function findUp(from: string, marker: string, child: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, marker))) return join(dir, child);
    if (dirname(dir) === dir) throw new Error(`cannot find ${marker} above ${from}`);
  }
}

export const HEALTH_PROTO = join(
  dirname(require.resolve('grpc-health-check/package.json')),
  'proto',
  'health',
  'v1',
  'health.proto',
);

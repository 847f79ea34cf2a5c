#!/usr/bin/env node
/**
 * A Nerve client in Node.js: the REST API with credentials (list engines, add a version at weight 0,
 * read the config history), then a call through a router with @grpc/grpc-js.
 *
 * usage: node node-client.mjs --api http://127.0.0.1:3000/api/v1/nerve --router 127.0.0.1:50051
 *                             [--engine NAME] [--token JWT_OR_API_KEY] [--ca FILE]
 * Prints one JSON line of what it saw. NERVE_TOKEN works as --token.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const { values: args } = parseArgs({
  options: {
    api: { type: 'string', default: 'http://127.0.0.1:3000/api/v1/nerve' },
    router: { type: 'string', default: '127.0.0.1:50051' },
    engine: { type: 'string', default: 'echo' },
    token: { type: 'string', default: process.env.NERVE_TOKEN ?? '' },
    ca: { type: 'string' },
  },
});

/** One REST call; a 4xx/5xx throws with the API's own message (and its request id, for the logs). */
async function rest(method, path, body) {
  const res = await fetch(`${args.api}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(args.token && { authorization: `Bearer ${args.token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = res.status === 204 ? {} : await res.json();
  if (!res.ok)
    throw new Error(
      `${method} ${path}: ${res.status} ${json.error?.code}: ${json.error?.message} (request ${json.error?.requestId})`,
    );
  return json;
}

const report = {};
const { engines } = await rest('GET', '/engines?limit=100');
report.engines = engines.map((e) => e.name);

// A canary version enters at weight 0: no call reaches it until a rollout or an operator gives it some.
const canary = `v-example-${process.pid}`;
const { engine } = await rest('POST', `/engines/${args.engine}/versions`, { name: canary, weight: 0 });
report.versions = engine.versions;
await rest('DELETE', `/engines/${args.engine}/versions/${canary}`);
const { versions } = await rest('GET', '/config/history?limit=2');
report.history = versions.map((v) => v.summary);

// Calls go to a router, which picks an instance; x-nerve-engine names the engine.
const protoDir = join(import.meta.dirname, '..', '..', 'proto');
const def = protoLoader.loadSync('nerve/engine/v1/engine.proto', { includeDirs: [protoDir], keepCase: true });
const { Engine } = grpc.loadPackageDefinition(def).nerve.engine.v1;
const creds = args.ca ? grpc.credentials.createSsl(readFileSync(args.ca)) : grpc.credentials.createInsecure();
const client = new Engine(
  args.router,
  creds,
  args.ca ? { 'grpc.ssl_target_name_override': 'localhost' } : {},
);
const md = new grpc.Metadata();
md.set('x-nerve-engine', args.engine);
report.call = await new Promise((resolve, reject) =>
  client.Invoke(
    { operation: 'echo', payload: Buffer.from('hello from node') },
    md,
    { deadline: Date.now() + 5000 },
    (err, res) =>
      err
        ? reject(err)
        : resolve({ payload: res.payload.toString(), instance: res.instance_id, version: res.version }),
  ),
);
client.close();
console.log(JSON.stringify(report));

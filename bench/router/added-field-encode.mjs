// The child of bench/router/added-field.ts, run under callgrind: warms the HPACK encoder up on blocks with
// and without the made traceparent alike (so V8's code is the same in every run), then encodes `calls`
// blocks, with the field when `withField` is "1". Plain JavaScript on dist/: nothing else runs.
import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(import.meta.url);
const { HpackEncoder } = require('../../dist/src/protocol/h2/hpack/encoder.js');
const { MADE_TRACEPARENT } = require('../../dist/src/router/tracing/made-traceparent.js');

const calls = Number(process.argv[2]);
const withField = process.argv[3] === '1' ? MADE_TRACEPARENT : undefined;
const encoder = new HpackEncoder();
const headers = [
  ':method',
  'POST',
  ':scheme',
  'http',
  ':path',
  '/nerve.engine.v1.Engine/Invoke',
  ':authority',
  'calc',
  'content-type',
  'application/grpc',
  'te',
  'trailers',
  'grpc-timeout',
  '5000m',
];
for (let i = 0; i < 50_000; i++)
  encoder.encodeInto(headers, undefined, undefined, 9, i & 1 ? MADE_TRACEPARENT : undefined, i);
for (let i = 0; i < calls; i++) encoder.encodeInto(headers, undefined, undefined, 9, withField, i);

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeRequest } from '../../gen/nerve/engine/v1/engine';

/**
 * nghttp2's h2load (Debian's nghttp2-client), when installed: a C client far lighter than grpc-js, whose
 * own CPU does not crowd the router and the engine off a 2-core machine. It speaks HTTP/2, and a unary
 * gRPC call is one POST with a framed message, so it can measure what the router adds.
 */
export function h2loadInstalled(): boolean {
  return spawnSync('h2load', ['--version']).status === 0;
}

/** `n` Engine/Invoke echo calls at `rps` (at most 10 in flight) to host:port; latency quantiles in ms. */
export function h2loadLatency(
  target: string,
  n: number,
  rps: number,
  headers: readonly string[],
): { p50: number; p99: number } {
  const dir = mkdtempSync(join(tmpdir(), 'nerve-h2load-'));
  const body = join(dir, 'invoke.bin');
  const log = join(dir, 'requests.tsv');
  const message = InvokeRequest.encode({
    operation: 'echo',
    payload: Buffer.from('ping'),
    metadata: {},
  }).finish();
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  writeFileSync(body, framed);
  const args = ['-n', String(n), '-c', '1', '-m', '10', '--rps', String(rps), '-d', body, '--log-file', log];
  for (const h of ['content-type: application/grpc', 'te: trailers', ...headers]) args.push('-H', h);
  args.push(`http://${target}/nerve.engine.v1.Engine/Invoke`);
  const run = spawnSync('h2load', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`h2load failed: ${run.stderr || run.stdout}`);
  // Columns: start (µs since epoch), HTTP status, µs until the end of the response.
  const us = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((line) => Number(line.split('\t')[2]))
    .sort((a, b) => a - b);
  if (us.length < n) throw new Error(`h2load logged ${us.length} of ${n} calls`);
  return { p50: us[Math.floor(us.length / 2)] / 1000, p99: us[Math.floor(us.length * 0.99)] / 1000 };
}

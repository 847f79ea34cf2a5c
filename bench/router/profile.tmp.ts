import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
const NERVE = join(__dirname, '..', '..', 'bin', 'nerve.js');
function start(args: string[], ready: RegExp, flags: string[] = []) {
  const child = spawn(process.execPath, [...flags, NERVE, ...args], { env: { ...process.env, LOG_LEVEL: 'error' } });
  return new Promise<{ child: typeof child; m: RegExpExecArray }>((resolve) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; const m = ready.exec(out); if (m) resolve({ child, m }); });
  });
}
async function main() {
  const engine = await start(['engine', '--type', 'echo', '--port', '0'], /ready on (\S+)/);
  const config = join(mkdtempSync(join(tmpdir(), 'nb-')), 'n.yaml');
  writeFileSync(config, `host: 127.0.0.1\nengines:\n  - name: echo\n    instances: [{ id: echo-1, address: "${engine.m[1]}" }]\n`);
  const cp = await start(['control-plane', '--config', config, '--api-port', '0', '--xds-port', '0'], /gRPC on (127\.0\.0\.1:\d+)/);
  const router = await start(['router', '--control-plane', cp.m[1], '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--id', 'p'], /ingress on 127\.0\.0\.1:(\d+)/, (process.env.FLAGS ?? '').split(' ').filter(Boolean));
  const client = new EngineClient(`127.0.0.1:${router.m[1]}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata(); md.set('x-nerve-engine', 'echo');
  const call = () => new Promise<void>((res, rej) => client.invoke({ operation: 'echo', payload: Buffer.from('ping'), metadata: {} }, md, (e) => (e ? rej(e) : res())));
  for (let i = 0; i < 300; i++) await call().catch(() => new Promise((r) => setTimeout(r, 20)));
  const direct = new EngineClient(engine.m[1], grpc.credentials.createInsecure());
  const callD = () => new Promise<void>((res, rej) => direct.invoke({ operation: 'echo', payload: Buffer.from('ping'), metadata: {} }, new grpc.Metadata(), (e) => (e ? rej(e) : res())));
  for (let i = 0; i < 300; i++) await callD();
  for (let round = 0; round < 3; round++) {
    const ld: number[] = [], lr: number[] = [];
    for (let i = 0; i < 2000; i++) { let t = performance.now(); await callD(); ld.push(performance.now() - t); t = performance.now(); await call(); lr.push(performance.now() - t); }
    ld.sort((a, b) => a - b); lr.sort((a, b) => a - b);
    console.log('sequential p50 direct', ld[1000].toFixed(3), 'router', lr[1000].toFixed(3), 'added', (lr[1000] - ld[1000]).toFixed(3));
  }
  if (process.env.SEQ_ONLY) { router.child.kill('SIGKILL'); cp.child.kill('SIGKILL'); engine.child.kill('SIGKILL'); process.exit(0); }
  const t0 = performance.now(); let sent = 0; const pend: Promise<void>[] = [];
  while (performance.now() - t0 < 10_000) { const due = Math.floor((performance.now() - t0)); for (; sent < due; sent++) pend.push(call()); await new Promise((r) => setTimeout(r, 1)); }
  await Promise.all(pend);
  console.log('calls', sent);
  router.child.kill('SIGTERM');
  await new Promise((r) => router.child.once('exit', r));
  client.close(); cp.child.kill('SIGKILL'); engine.child.kill('SIGKILL');
}
void main();

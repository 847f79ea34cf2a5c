import * as grpc from '@grpc/grpc-js';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { certificates } from './bench-certs';
import { haproxyInstalled, startHaproxy } from './haproxy';
import { type Started, startFleet, startNerve, startRouter } from './processes';

/** One proxy of the TLS lineup: its process, a client of it and the metadata its calls carry. */
export interface TlsProxy {
  readonly name: string;
  readonly child: ChildProcess & { stdout: NodeJS.ReadableStream };
  readonly client: EngineClient;
  readonly md: grpc.Metadata;
}

/**
 * The echo fleet with three proxies in front: the router in plaintext, the router terminating TLS (ALPN
 * h2) and, when installed, HAProxy terminating TLS; clients over TLS trust a throwaway CA. Routers run
 * with `routerFlags` and every proxy under `wrap` (valgrind …). `stop()` closes the clients and kills all.
 */
export async function startTlsLineup(
  routerFlags: string[] = [],
  wrap: string[] = [],
): Promise<{ proxies: TlsProxy[]; stop(): void }> {
  const certs = certificates();
  const { engine, cp, engineAddress, xds } = await startFleet();
  const plain = await startRouter(xds, 'bench-plain', routerFlags, wrap);
  const tls: Started = await startNerve(
    ['router', '--control-plane', xds, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0'].concat([
      '--id',
      'bench-tls',
      '--tls-cert-file',
      certs.cert,
      '--tls-key-file',
      certs.key,
    ]),
    /ingress on 127\.0\.0\.1:(\d+)/,
    routerFlags,
    wrap,
  );
  const haproxy = haproxyInstalled() ? await startHaproxy(engineAddress, wrap, certs.pem) : undefined;
  const secure = grpc.credentials.createSsl(readFileSync(certs.ca));
  const options = { 'grpc.ssl_target_name_override': 'localhost' };
  const viaRouter = new grpc.Metadata();
  viaRouter.set('x-nerve-engine', 'echo');
  const proxies: TlsProxy[] = [
    {
      name: 'Nerve router, plaintext',
      child: plain.child,
      client: new EngineClient(`127.0.0.1:${plain.match[1]}`, grpc.credentials.createInsecure()),
      md: viaRouter,
    },
    {
      name: 'Nerve router, TLS',
      child: tls.child,
      client: new EngineClient(`127.0.0.1:${tls.match[1]}`, secure, options),
      md: viaRouter,
    },
  ];
  if (haproxy)
    proxies.push({
      name: 'HAProxy terminating TLS',
      child: haproxy.child as TlsProxy['child'],
      client: new EngineClient(`127.0.0.1:${haproxy.port}`, secure, options),
      md: new grpc.Metadata(),
    });
  return {
    proxies,
    stop() {
      for (const p of proxies) p.client.close();
      for (const c of [plain.child, tls.child, cp.child, engine.child, haproxy?.child]) c?.kill('SIGKILL');
    },
  };
}

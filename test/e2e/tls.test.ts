import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { startApi } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { registerEngine } from '../../src/engines/registration';
import { DemoEngine } from '../../src/engines/engine-server';
import type { Router } from '../../src/router/router';
import type { ClientCredentials } from '../../src/security/tls-files';
import { TestPki } from '../helpers/certs';
import { invoke, logger, engineSpec, startControlPlane, startRouter } from '../helpers/cluster';
import { runPython } from '../helpers/process';
import { waitFor } from '../helpers/wait';

const ENGINE_KEY = 'engine-operator-key-of-the-tls-suite';

describe('TLS and mTLS: control plane (gRPC and HTTPS), routers bound to their certificates, the ingress', () => {
  const pki = new TestPki();
  const rogue = new TestPki('rogue-ca');
  const server = pki.issue('server', 'nerve-control-plane');
  const routerA = pki.issue('router-a', 'router-a', 'DNS:router-a');
  const untrusted = rogue.issue('router-a-rogue', 'router-a', 'DNS:router-a');
  let engine: DemoEngine;
  let cp: ControlPlane;
  let api: Awaited<ReturnType<typeof startApi>>;
  const routers: Router[] = [];

  beforeAll(async () => {
    engine = await new DemoEngine({
      type: 'math',
      name: 'echo',
      id: 'echo-1',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    const files = { cert: server.cert, key: server.key, ca: pki.ca.cert };
    cp = await startControlPlane(
      [
        engineSpec({
          name: 'echo',
          versions: [{ name: 'v1', weight: 100 }],
          instances: [{ id: 'echo-1', address: engine.address }],
        }),
      ],
      {
        tls: files,
        auth: { enabled: true, apiKeys: [{ name: 'engine-ops', role: 'operator', secret: ENGINE_KEY }] },
      },
    );
    api = await startApi(cp, logger, '127.0.0.1', 0, undefined, { tls: files });
  });

  afterAll(async () => {
    await Promise.all(routers.map((r) => r.stop()));
    await api.close();
    await cp.stop(500);
    await engine.stop();
  });

  const router = async (
    id: string,
    credentials: ClientCredentials,
    ingress?: { cert: string; key: string; ca?: string },
  ) => {
    const r = await startRouter(cp, id, { credentials, tls: ingress });
    routers.push(r);
    return r;
  };

  it('lets a router with a certificate for its node subscribe over mTLS, and refuses one without, an untrusted one, or one for another node', async () => {
    const good = await router('router-a', { tls: { ca: pki.ca.cert, cert: routerA.cert, key: routerA.key } });
    const noCert = await router('router-x', { tls: { ca: pki.ca.cert } });
    const wrongCa = await router('router-y', {
      tls: { ca: pki.ca.cert, cert: untrusted.cert, key: untrusted.key },
    });
    const impostor = await router('router-b', {
      tls: { ca: pki.ca.cert, cert: routerA.cert, key: routerA.key },
    });
    const plaintext = await router('router-z', {});
    await waitFor(
      () =>
        internals(cp)
          .ads.clients()
          .find((c) => c.nodeId === 'router-a')
          ?.types.every((t) => t.inSync),
      'router-a in sync over mTLS',
    );
    await waitFor(
      () => [noCert, wrongCa, impostor, plaintext].every((r) => r.ads.lastError !== undefined),
      'the others refused',
    );
    expect(impostor.ads.lastError).toMatch(/router-a may not act as node "router-b"/);
    expect(
      internals(cp)
        .ads.clients()
        .map((c) => c.nodeId),
    ).toEqual(['router-a']);
    const client = new EngineClient(`127.0.0.1:${good.port}`, grpc.credentials.createInsecure());
    try {
      await waitFor(
        () =>
          invoke(client, 'echo', 'fibonacci', '{"n":3}').then(
            () => true,
            () => false,
          ),
        'a call through router-a',
      );
    } finally {
      client.close();
    }
  });

  it('serves REST over HTTPS to clients with a certificate only', async () => {
    const get = (cert?: { cert: string; key: string }) =>
      new Promise<number>((resolve, reject) => {
        const req = https.request(
          {
            host: '127.0.0.1',
            port: api.port,
            path: '/api/v1/nerve/health/live',
            ca: readFileSync(pki.ca.cert),
            servername: 'localhost',
            ...(cert && { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    expect(await get(routerA)).toBe(200);
    await expect(get()).rejects.toThrow();
  });

  it('serves grpc-js and python clients on the router ingress over TLS (ALPN h2), and reloads a renewed certificate', async () => {
    const ingressFiles = pki.issue('ingress', 'nerve-router');
    const r = await router(
      'router-a',
      { tls: { ca: pki.ca.cert, cert: routerA.cert, key: routerA.key } },
      ingressFiles,
    );
    await waitFor(() => r.state.engine('echo') !== undefined, 'the router has the echo engine');
    const client = new EngineClient(
      `127.0.0.1:${r.port}`,
      grpc.credentials.createSsl(readFileSync(pki.ca.cert)),
      {
        'grpc.ssl_target_name_override': 'localhost',
      },
    );
    try {
      const answer = await invoke(client, 'echo', 'fibonacci', '{"n":10}');
      expect(JSON.parse(Buffer.from(answer.payload).toString())).toEqual({ n: 10, value: '55' });
    } finally {
      client.close();
    }
    const out = JSON.parse(
      await runPython('engine_client.py', [`127.0.0.1:${r.port}`, 'echo', pki.ca.cert], 30_000),
    ) as {
      unary: { payload: string }[];
    };
    expect(out.unary).toHaveLength(4);

    const serial = () =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect(
          {
            host: '127.0.0.1',
            port: r.port,
            ca: readFileSync(pki.ca.cert),
            servername: 'localhost',
            ALPNProtocols: ['h2'],
          },
          () => {
            expect(s.alpnProtocol).toBe('h2');
            resolve(s.getPeerCertificate().serialNumber);
            s.destroy();
          },
        );
        s.on('error', reject);
      });
    const before = await serial();
    const renewed = pki.issue('ingress-renewed', 'nerve-router');
    copyFileSync(renewed.key, ingressFiles.key);
    copyFileSync(renewed.cert, ingressFiles.cert);
    await waitFor(async () => (await serial()) !== before, 'the renewed certificate served', 10_000);
  });
  it('keeps serving the last good certificate on the gRPC port when a renewal does not match its key', async () => {
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tls.connect(
          {
            host: '127.0.0.1',
            port: cp.port,
            ca: readFileSync(pki.ca.cert),
            servername: 'localhost',
            ALPNProtocols: ['h2'],
            cert: readFileSync(routerA.cert),
            key: readFileSync(routerA.key),
          },
          () => {
            const cn = String(socket.getPeerCertificate().subject?.CN);
            socket.end();
            resolve(cn);
          },
        );
        socket.on('error', reject);
      });
    expect(await served()).toBe('nerve-control-plane');
    const good = readFileSync(server.cert);
    const goodKey = readFileSync(server.key);
    const failures = cp.tlsReloadFailures;
    try {
      copyFileSync(routerA.cert, server.cert); // a certificate that does not match the key
      await waitFor(() => cp.tlsReloadFailures > failures, 'the bad renewal noticed', 10_000);
      expect(await served()).toBe('nerve-control-plane');
      // A good renewal is served, without a restart.
      const renewed = pki.issue('server-renewed', 'nerve-control-plane-renewed');
      copyFileSync(renewed.key, server.key);
      copyFileSync(renewed.cert, server.cert);
      await waitFor(
        async () => (await served()) === 'nerve-control-plane-renewed',
        'the renewal served',
        10_000,
      );
    } finally {
      writeFileSync(server.cert, good);
      writeFileSync(server.key, goodKey);
      await waitFor(async () => (await served()) === 'nerve-control-plane', 'the original back', 10_000);
    }
  });

  it('registers an engine over TLS with its token, and never sends a token in clear off loopback', async () => {
    const registering = await new DemoEngine({
      type: 'echo',
      name: 'echo',
      id: 'echo-tls',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    try {
      const reg = await registerEngine(registering, `localhost:${cp.port}`, registering.address, {
        token: ENGINE_KEY,
        tls: { ca: pki.ca.cert, cert: routerA.cert, key: routerA.key },
        joinTimeoutMs: 5_000,
      });
      expect(
        internals(cp)
          .engines.getNow('echo')
          ?.instances.map((i) => i.id),
      ).toContain('echo-tls');
      await reg.leave();
      await expect(
        registerEngine(registering, '10.255.255.1:18000', registering.address, { token: ENGINE_KEY }),
      ).rejects.toThrow(/refusing to send the token in clear to 10\.255\.255\.1:18000: set TLS_CA_FILE/);
    } finally {
      await registering.stop();
    }
  });
});

describe('TLS from routers to engines (policy upstreamTls)', () => {
  const pki = new TestPki();
  const engineCert = pki.issue('engine', 'engine-1');
  const routerCert = pki.issue('router', 'router-1', 'DNS:router-1');

  it('reaches an instance over mTLS with the router’s certificate, and fails without one', async () => {
    const engine = await new DemoEngine({
      type: 'echo',
      name: 'secure',
      id: 'secure-1',
      host: '127.0.0.1',
      port: 0,
      logger,
      tls: { cert: engineCert.cert, key: engineCert.key, ca: pki.ca.cert },
    }).start();
    const cp = await startControlPlane(
      [
        engineSpec({
          name: 'secure',
          versions: [{ name: 'v1', weight: 100 }],
          instances: [{ id: 'secure-1', address: engine.address }],
          policy: { upstreamTls: true, retry: { maxAttempts: 1 } },
        }),
      ],
      { healthChecks: false },
    );
    const start = (upstreamTls: { ca?: string; cert?: string; key?: string }) =>
      startRouter(cp, `r-${Math.random()}`, { upstreamTls });
    const withCert = await start({ ca: pki.ca.cert, cert: routerCert.cert, key: routerCert.key });
    const withoutCert = await start({ ca: pki.ca.cert });
    const clients = [withCert, withoutCert].map(
      (r) => new EngineClient(`127.0.0.1:${r.port}`, grpc.credentials.createInsecure()),
    );
    try {
      await waitFor(
        () => withCert.state.engine('secure') && withoutCert.state.engine('secure'),
        'both routers configured',
      );
      const answer = await invoke(clients[0], 'secure', 'echo', 'sealed');
      expect(Buffer.from(answer.payload).toString()).toBe('sealed');
      await expect(invoke(clients[1], 'secure', 'echo', 'open')).rejects.toMatchObject({
        code: grpc.status.UNAVAILABLE,
      });
    } finally {
      for (const c of clients) c.close();
      await Promise.all([withCert.stop(), withoutCert.stop()]);
      await cp.stop(500);
      await engine.stop();
    }
  });
});

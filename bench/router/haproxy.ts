import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * HAProxy (Debian's haproxy), when installed: a proxy in C, among the leanest there are, forwarding
 * HTTP/2 on both sides with one thread, as a reference for what proxying a call costs on this machine
 * (its kernel part is the same for any proxy process; its user part is what lean C spends).
 */
export function haproxyInstalled(): boolean {
  return spawnSync('haproxy', ['-v']).status === 0;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

async function accepting(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** HAProxy forwarding 127.0.0.1:<port> to `upstream` (host:port), HTTP/2 cleartext both ways; `wrap` runs it under another program (valgrind …). */
export async function startHaproxy(
  upstream: string,
  wrap: string[] = [],
  /** Terminate TLS with this PEM (certificate then key), ALPN h2. */
  tlsPem?: string,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const config = join(mkdtempSync(join(tmpdir(), 'nerve-haproxy-')), 'haproxy.cfg');
  writeFileSync(
    config,
    [
      'global',
      '  nbthread 1',
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 60s',
      '  timeout server 60s',
      'frontend grpc',
      tlsPem ? `  bind 127.0.0.1:${port} ssl crt ${tlsPem} alpn h2` : `  bind 127.0.0.1:${port} proto h2`,
      '  default_backend engine',
      'backend engine',
      `  server engine-1 ${upstream} proto h2`,
      '',
    ].join('\n'),
  );
  const args = ['-f', config, '-db'];
  const child =
    wrap.length > 0
      ? spawn(wrap[0], [...wrap.slice(1), 'haproxy', ...args], { stdio: 'ignore' })
      : spawn('haproxy', args, { stdio: 'ignore' });
  await accepting(port, Date.now() + (wrap.length > 0 ? 60_000 : 5_000));
  return { child, port };
}

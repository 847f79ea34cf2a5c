import * as net from 'node:net';

/**
 * A TCP relay to `target` that can freeze: connections stay open but nothing passes any more, as when a
 * host dies or the network partitions without a reset reaching anyone.
 */
export class TcpRelay {
  private readonly sockets = new Set<net.Socket>();
  private frozen = false;
  private cutOff = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpRelay> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const relay = new TcpRelay(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (down) => {
      if (relay.cutOff) {
        down.destroy();
        return;
      }
      if (relay.frozen) {
        // Accepted, never answered; kept so that close() can end it.
        relay.sockets.add(down);
        down.on('error', () => undefined);
        return;
      }
      const up = net.connect(target.port, target.host);
      for (const s of [down, up]) {
        relay.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => relay.sockets.delete(s));
      }
      down.on('data', (d) => relay.frozen || up.write(d));
      up.on('data', (d) => relay.frozen || down.write(d));
      down.on('close', () => up.destroy());
      up.on('close', () => down.destroy());
    });
    return relay;
  }

  freeze(): void {
    this.frozen = true;
  }

  /** Resets every connection and refuses new ones, as a peer that went down; `restore` lets them in again. */
  cut(): void {
    this.cutOff = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.cutOff = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

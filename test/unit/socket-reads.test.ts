import * as net from 'node:net';
import { adoptSocket, connectSocket } from '../../src/protocol/h2/socket-reads';
import { waitFor } from '../helpers/wait';

describe('socket reads into the shared buffer', () => {
  it('moves an accepted socket to the shared buffer: bytes arrive, and the accepted one is let go', async () => {
    const got: string[] = [];
    let adopted: net.Socket | undefined;
    const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
      adopted = adoptSocket(accepted, () => ({
        onBytes: (chunk, length) => got.push(chunk.toString('utf8', 0, length)),
      }));
      expect(adopted).not.toBe(accepted);
      expect(accepted.destroyed).toBe(true);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const client = net.connect(port, '127.0.0.1');
    client.write('hello');
    await waitFor(() => got.join('') === 'hello', 'the bytes read through the adopted socket');
    // The server no longer counts the socket: it closes at once, while the adopted one still works.
    await new Promise<void>((r) => server.close(() => r()));
    adopted!.write('back');
    const echoed = await new Promise<string>((r) => client.once('data', (d: Buffer) => r(d.toString())));
    expect(echoed).toBe('back');
    client.destroy();
    adopted!.destroy();
  });

  it('keeps reading a socket without a handle the usual way ("data" events)', () => {
    const socket = new net.Socket(); // not connected: no handle to move
    const got: string[] = [];
    const same = adoptSocket(socket, () => ({
      onBytes: (chunk, length) => got.push(chunk.toString('utf8', 0, length)),
    }));
    expect(same).toBe(socket);
    socket.emit('data', Buffer.from('still read'));
    expect(got).toEqual(['still read']);
    socket.destroy();
  });

  it('connects a client socket that reads into the shared buffer', async () => {
    const server = net.createServer((s) => s.end('from server'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const got: string[] = [];
    const socket = connectSocket('127.0.0.1', (server.address() as net.AddressInfo).port, () => ({
      onBytes: (chunk, length) => got.push(chunk.toString('utf8', 0, length)),
    }));
    await new Promise((r) => socket.once('end', r));
    expect(got.join('')).toBe('from server');
    socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});

/**
 * The floor under any proxy process in Node: a relay that copies bytes between each client connection and
 * a connection of its own to one fixed upstream, without reading them (HTTP/2 passes through untouched,
 * so gRPC calls work). It reads as the router does (net's onread, into one shared buffer) and writes
 * each read at once. bench:router measures it in the same run: what the router costs beyond it is
 * HTTP/2, routing and resilience. Usage: byte-relay.mjs <upstream host:port>; prints its port.
 */
import * as net from 'node:net';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import console from 'node:console';

const [host, port] = process.argv[2].split(':');
const shared = Buffer.allocUnsafe(64 * 1024);

const server = net.createServer({ noDelay: true }, (down) => {
  const up = net.connect({
    host,
    port: Number(port),
    noDelay: true,
    onread: {
      buffer: shared,
      callback: (n, buf) => {
        down.write(Buffer.from(buf.subarray(0, n)));
        return true;
      },
    },
  });
  down.on('data', (chunk) => up.write(chunk));
  down.on('close', () => up.destroy());
  up.on('close', () => down.destroy());
  down.on('error', () => undefined);
  up.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  console.log(`byte relay on ${typeof a === 'object' && a ? a.port : 0}`);
});

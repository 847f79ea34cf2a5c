import type * as http2 from 'node:http2';

/**
 * Response body frames to the caller as they come, with backpressure; the caller's end follows the
 * instance's. Lighter than Readable.pipe, which sets up and tears down half a dozen listeners per call.
 */
export function relay(up: http2.ClientHttp2Stream, down: http2.ServerHttp2Stream): void {
  up.on('data', (chunk: Buffer) => {
    if (!down.write(chunk)) {
      up.pause();
      down.once('drain', () => up.resume());
    }
  });
  up.once('end', () => {
    if (!down.writableEnded) down.end();
  });
}

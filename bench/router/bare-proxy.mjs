/**
 * The floor under any node:http2 router: a bare pass-through proxy to one fixed upstream, with no
 * routing, balancing, resilience or stats. bench:router measures it in the same run as Nerve's router, so
 * the difference is what Nerve's features cost. Plain JavaScript, so it runs on node alone (no loader in
 * its memory or start-up). Usage: bare-proxy.mjs <upstream host:port>; prints its port.
 */
import * as http2 from 'node:http2';
import process from 'node:process';
import console from 'node:console';

const upstream = http2.connect(`http://${process.argv[2]}`);
upstream.on('error', () => undefined);

/** @param {import('node:http2').IncomingHttpHeaders} from @param {string[]} keep */
function copyHeaders(from, keep) {
  /** @type {import('node:http2').OutgoingHttpHeaders} */
  const out = {};
  for (const name in from) if (name[0] !== ':' || keep.includes(name)) out[name] = from[name];
  return out;
}

const server = http2.createServer();
server.on('stream', (down, headers) => {
  const up = upstream.request(copyHeaders(headers, [':method', ':path', ':authority', ':scheme']));
  /** @type {import('node:http2').IncomingHttpHeaders | undefined} */
  let trailers;
  down.pipe(up);
  up.on('response', (h, flags) => {
    if (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) {
      down.respond(copyHeaders(h, [':status']), { endStream: true });
      return;
    }
    down.respond(copyHeaders(h, [':status']), { waitForTrailers: true });
    up.pipe(down);
  });
  up.on('trailers', (t) => (trailers = t));
  down.on('wantTrailers', () =>
    down.sendTrailers(trailers ? copyHeaders(trailers, []) : { 'grpc-status': '14' }),
  );
  up.on('error', () => undefined);
  down.on('error', () => undefined);
  down.on('close', () => up.close());
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  console.log(`bare proxy on ${typeof a === 'object' && a ? a.port : 0}`);
});

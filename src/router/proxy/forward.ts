import * as http2 from 'node:http2';
import type { RoutableEndpoint } from '../balancer/picker';
import { Status, encodeGrpcMessage, respondError } from './grpc-status';
import { formatGrpcTimeout, parseGrpcTimeout } from './grpc-timeout';
import { forwardHeaders } from './headers';
import type { UpstreamPool } from './upstream-pool';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM } = http2.constants;
const REQUEST_PSEUDO = [':method', ':path', ':authority', ':scheme'];
const RESPONSE_PSEUDO = [':status'];

function statusOf(headers: http2.IncomingHttpHeaders): number {
  const raw = headers['grpc-status'];
  const code = typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isInteger(code) ? code : Status.UNKNOWN;
}

/**
 * Carries one call to `endpoint` at the HTTP/2 stream level: request headers and body frames go up as
 * they come, response headers, body and trailers come back; payloads are never decoded. A trailers-only
 * answer stays trailers-only. A caller's cancel resets the upstream stream; an upstream that fails before
 * answering becomes UNAVAILABLE naming the instance; one that dies mid-response ends the call in error.
 */
export function forward(
  down: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  endpoint: RoutableEndpoint,
  defaultTimeoutMs: number,
  pool: UpstreamPool,
  waitedMs = 0,
  done?: () => void,
): void {
  const started = performance.now();
  const stats = endpoint.stats;
  stats.started();
  let finished = false;
  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    done?.();
    const end = performance.now();
    stats.finished(code, end - started, end);
  };

  const out = forwardHeaders(headers, REQUEST_PSEUDO);
  // The engine gets what is left of the caller's deadline (or the policy's) after time spent queued here.
  const budget =
    parseGrpcTimeout(headers['grpc-timeout']) ?? (defaultTimeoutMs > 0 ? defaultTimeoutMs : undefined);
  if (budget !== undefined && (waitedMs > 0 || headers['grpc-timeout'] === undefined)) {
    const left = budget - waitedMs;
    if (left <= 0) {
      finish(Status.DEADLINE_EXCEEDED);
      respondError(
        down,
        Status.DEADLINE_EXCEEDED,
        `deadline exceeded after ${Math.round(waitedMs)} ms queued for engine "${endpoint.engine}"`,
      );
      return;
    }
    out['grpc-timeout'] = formatGrpcTimeout(left);
  }
  let up: http2.ClientHttp2Stream;
  try {
    up = pool.session(endpoint.address).request(out);
  } catch (err) {
    finish(Status.UNAVAILABLE);
    respondError(
      down,
      Status.UNAVAILABLE,
      `engine "${endpoint.engine}" instance "${endpoint.id}" at ${endpoint.address} is unreachable: ${(err as Error).message}`,
    );
    return;
  }

  let responded = false;
  let trailers: http2.IncomingHttpHeaders | undefined;
  let upstreamError = '';

  up.on('response', (responseHeaders, flags) => {
    responded = true;
    if (down.destroyed) return;
    const h = forwardHeaders(responseHeaders, RESPONSE_PSEUDO);
    if (flags & NGHTTP2_FLAG_END_STREAM) {
      finish(statusOf(responseHeaders));
      down.respond(h, { endStream: true });
      return;
    }
    down.respond(h, { waitForTrailers: true });
    up.pipe(down);
  });
  up.on('trailers', (t) => {
    trailers = t;
  });
  up.on('error', (err) => {
    upstreamError = err.message;
  });
  up.on('close', () => {
    if (finished || down.destroyed) return;
    if (!responded) {
      const code = up.rstCode === NGHTTP2_CANCEL ? Status.CANCELLED : Status.UNAVAILABLE;
      const why =
        upstreamError ||
        (up.rstCode === NGHTTP2_REFUSED_STREAM ? 'stream refused' : `stream reset (code ${up.rstCode})`);
      finish(code);
      respondError(
        down,
        code,
        `engine "${endpoint.engine}" instance "${endpoint.id}" at ${endpoint.address} failed before answering: ${why}`,
      );
    } else if (trailers === undefined && !down.writableEnded) {
      down.end(); // headers went out: the status goes in trailers (wantTrailers below)
    }
  });

  down.on('wantTrailers', () => {
    if (trailers !== undefined) {
      finish(statusOf(trailers));
      down.sendTrailers(forwardHeaders(trailers, []));
    } else {
      finish(Status.UNAVAILABLE);
      down.sendTrailers({
        'grpc-status': String(Status.UNAVAILABLE),
        'grpc-message': encodeGrpcMessage(
          `engine "${endpoint.engine}" instance "${endpoint.id}" ended the response without a status${upstreamError ? `: ${upstreamError}` : ''}`,
        ),
      });
    }
  });
  down.on('error', () => undefined); // a caller's reset shows up as 'close'
  down.on('close', () => {
    if (!up.closed) up.close(NGHTTP2_CANCEL);
    finish(Status.CANCELLED);
  });
  down.pipe(up);
}

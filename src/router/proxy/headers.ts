import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

/** Connection-specific headers HTTP/2 forbids forwarding (RFC 9113 §8.2.2). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'http2-settings',
]);

/** Copies headers for the next hop: regular ones as they are, pseudo-headers only where listed. */
export function forwardHeaders(
  from: IncomingHttpHeaders,
  keepPseudo: readonly string[],
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in from) {
    if (name.charCodeAt(0) === 58 /* ':' */ ? !keepPseudo.includes(name) : HOP_BY_HOP.has(name)) continue;
    out[name] = from[name];
  }
  return out;
}

/**
 * Headers received from an HTTP/2 peer, passed on as they are when nothing in them must go, else copied
 * without what must (`forwardHeaders`). A peer's header block holds only the pseudo-headers of its kind
 * (nghttp2 rejects others), so only the connection-specific names need looking for: seven lookups
 * instead of a copy of every header, three times per call.
 */
export function passHeaders(from: IncomingHttpHeaders, keepPseudo: readonly string[]): OutgoingHttpHeaders {
  for (const name of HOP_BY_HOP) if (from[name] !== undefined) return forwardHeaders(from, keepPseudo);
  return from as OutgoingHttpHeaders;
}

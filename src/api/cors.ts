import type { RequestHandler } from 'express';
import { errorBody } from './http/errors';

const ALLOWED_HEADERS = 'authorization, content-type, if-match, x-api-key, x-request-id, last-event-id';
const EXPOSED_HEADERS = 'etag, location, retry-after, x-request-id';
const METHODS = 'GET, POST, PUT, PATCH, DELETE';

/**
 * CORS with an allow-list (CORS_ORIGINS): a listed origin (or any, with `*`) gets the headers a browser
 * needs, preflights included; any other origin gets none, so the browser keeps the answer from the page
 * that asked, and its preflight is refused with a reason. Same-origin calls carry no Origin to check.
 * Credentials travel in headers (bearer, API key), never cookies, so no origin is ever given cookies.
 */
export function cors(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const listed = new Set(origins);
  return (req, res, next) => {
    const origin = req.get('origin');
    if (origin === undefined) return next();
    res.vary('Origin');
    const allowed = any || listed.has(origin);
    const preflight = req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined;
    if (!allowed) {
      if (!preflight) return next();
      res
        .status(403)
        .json(
          errorBody(
            'PERMISSION_DENIED',
            'this origin is not in CORS_ORIGINS',
            [],
            String(res.locals.requestId),
          ),
        );
      return;
    }
    res.set('access-control-allow-origin', any ? '*' : origin);
    res.set('access-control-expose-headers', EXPOSED_HEADERS);
    if (!preflight) return next();
    res.set('access-control-allow-methods', METHODS);
    res.set('access-control-allow-headers', ALLOWED_HEADERS);
    res.set('access-control-max-age', '600');
    res.status(204).end();
  };
}

import type { IncomingMessage } from 'node:http';
import type { Credentials } from '../security/authenticator';
import { authorize, type Authenticator } from '../security/authenticator';
import { certificateIdentity } from '../security/certificate-identity';
import type { Principal } from '../model/security/principal';
import type { Guard } from './route-table';

/**
 * What an HTTP request presents: `Authorization`, `X-API-Key`, the TLS client certificate, and, where
 * a browser cannot set headers (EventSource, WebSocket), `?access_token=`.
 */
export function credentialsOf(req: IncomingMessage, allowQueryToken = false): Credentials {
  const header = (name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  let authorization = header('authorization');
  if (authorization === undefined && allowQueryToken) {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('access_token');
    if (token) authorization = `Bearer ${token}`;
  }
  return { authorization, apiKey: header('x-api-key'), certificate: certificateIdentity(req.socket) };
}

/** Authenticates and authorises before a route's handler; the principal is left in res.locals. */
export function restGuard(auth: Authenticator): Guard {
  return (access, what) => (req, res, next) => {
    if (access === 'public') return next();
    auth
      .authenticate(credentialsOf(req, what.endsWith(' /events')))
      .then((p) => {
        res.locals.principal = p;
        authorize(p, access, what);
        next();
      }, next)
      .catch(next);
  };
}

/** The principal restGuard found (routes behind a guard only). */
export function principalOf(locals: Record<string, unknown>): Principal | undefined {
  return locals.principal as Principal | undefined;
}

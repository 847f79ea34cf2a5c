import type { IncomingMessage } from 'node:http';
import type { Credentials } from '../security/authenticator';
import { authorize, type Authenticator } from '../security/authenticator';
import { certificateIdentity } from '../security/certificate-identity';
import type { Principal } from '../model/security/principal';
import type { Guard } from './route-table';
import type { CallLimits } from '../security/call-limits';

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

/**
 * Before a route's handler: counts the call against its address's rate limit (before authentication,
 * so guessing credentials is slow too), authenticates, counts it against the principal's limit and
 * checks the role. The principal is left in res.locals. Public routes (health probes) are not limited.
 */
export function restGuard(auth: Authenticator, limits: CallLimits): Guard {
  return (access, what) => (req, res, next) => {
    if (access === 'public') return next();
    const queryToken = what.endsWith(' /events');
    limits
      .address(req.socket.remoteAddress ?? 'unknown')
      .then(() => auth.authenticate(credentialsOf(req, queryToken)))
      .then(async (p) => {
        res.locals.principal = p;
        await limits.principal(p);
        authorize(p, access, what);
      })
      .then(() => next(), next);
  };
}

/** The principal restGuard found (routes behind a guard only). */
export function principalOf(locals: Record<string, unknown>): Principal | undefined {
  return locals.principal as Principal | undefined;
}

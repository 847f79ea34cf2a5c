import type { IncomingMessage } from 'node:http';
import type { Credentials } from '../../security/authenticator';
import { authorize, type Authenticator } from '../../security/authenticator';
import { certificateIdentity } from '../../security/certificate-identity';
import type { Principal } from '../../model/security/principal';
import type { Guard } from './route-table';
import type { CallLimits } from '../../security/call-limits';

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
 * Before a route's handler: authenticates, then counts the call against the principal's rate limit
 * and checks the role. A call that does not authenticate (or comes while authentication is off) counts
 * against its address instead, so guessing credentials is slow while an admin behind the same address
 * (every user behind one Ingress) keeps its own budget. The principal is left in res.locals. Public
 * routes (health probes) are not limited.
 */
export function restGuard(auth: Authenticator, limits: CallLimits): Guard {
  return (access, what) => (req, res, next) => {
    if (access === 'public') return next();
    const queryToken = what.endsWith(' /events');
    const address = req.socket.remoteAddress ?? 'unknown';
    auth
      .authenticate(credentialsOf(req, queryToken))
      .catch(async (err: unknown) => {
        await limits.address(address);
        throw err;
      })
      .then(async (p) => {
        res.locals.principal = p;
        if (p.via === 'none') await limits.address(address);
        else await limits.principal(p);
        authorize(p, access, what);
      })
      .then(() => next(), next);
  };
}

/** The principal restGuard found (routes behind a guard only). */
export function principalOf(locals: Record<string, unknown>): Principal | undefined {
  return locals.principal as Principal | undefined;
}

import { NerveError } from '../model/errors';
import { type Principal, UNAUTHENTICATED_ADMIN } from '../model/security/principal';
import { allows, DATAPLANE, type Role } from '../model/security/roles';
import type { ApiKeyRegistry } from './api-key-registry';
import type { JwtVerifier } from './jwt-verifier';
import { SessionWatch } from './session-watch';
import type { Credentials } from '../model/security/credentials';
export type { Credentials };
import type { CallLimits } from './call-limits';

const API_KEY_PREFIX = 'nrv_';
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/**
 * One authentication for every surface (REST, admin gRPC, feeds, registration, xDS): credentials in,
 * a principal out, or UNAUTHENTICATED. With authentication off every caller is an admin; the CLI
 * warns when that is so on a non-loopback address.
 */
export class Authenticator {
  /** Long-lived sessions opened with credentials, ended when those stop being good. */
  readonly sessions: SessionWatch = new SessionWatch(this);
  /**
   * The rate limits stream opens and feed upgrades count against (the control plane's, as REST and
   * admin gRPC calls do); none when unset.
   */
  limits: Pick<CallLimits, 'address' | 'principal'> | undefined;
  /** Told of every refused stream (what, the code, why, the peer): the control plane counts and logs them. */
  onRefusal: ((what: string, code: string, message: string, peer: string) => void) | undefined;

  constructor(
    readonly enabled: boolean,
    private readonly keys: ApiKeyRegistry,
    private readonly jwt?: JwtVerifier,
    /**
     * The role a verified client certificate grants: `dataplane` by default, as the certificates a CA
     * signs for a fleet are its routers' and proxyless clients'.
     */
    private readonly certificateRole: Role = DATAPLANE,
  ) {}

  async authenticate(c: Credentials): Promise<Principal> {
    if (!this.enabled) return UNAUTHENTICATED_ADMIN;
    if (c.apiKey) return this.key(c.apiKey);
    if (c.authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(c.authorization);
      if (!m) throw new NerveError('UNAUTHENTICATED', 'Authorization must be "Bearer <token>"');
      // A bearer that is not a JWT (three dot-separated parts) is an API key: clients that can only send
      // bearers (routers, gRPC call credentials) use keys that way.
      if (m[1].startsWith(API_KEY_PREFIX) || !JWT_SHAPE.test(m[1])) return this.key(m[1]);
      if (!this.jwt)
        throw new NerveError(
          'UNAUTHENTICATED',
          'bearer tokens are not accepted here (no JWT_SECRET, JWKS_URL or JWT_PUBLIC_KEY_FILE is set); use an API key',
        );
      return this.jwt.verify(m[1]);
    }
    if (c.certificate) return { name: c.certificate, role: this.certificateRole, via: 'certificate' };
    throw new NerveError(
      'UNAUTHENTICATED',
      'credentials required: Authorization: Bearer <token>, or X-API-Key: <key>',
    );
  }

  private key(secret: string): Principal {
    const p = this.keys.lookup(secret);
    if (!p) throw new NerveError('UNAUTHENTICATED', 'API key not recognised (revoked, or never issued)');
    return p;
  }
}

/**
 * Authenticates a long-lived session's opening (a data-plane stream, a feed upgrade) and counts it
 * against the rate limits as a call: the principal's budget, or the address's when the credentials
 * fail (so a flood of refused opens is slowed, and throttled with RESOURCE_EXHAUSTED).
 */
export async function authenticateOpen(
  auth: Authenticator,
  c: Credentials,
  address: string,
): Promise<Principal> {
  let p: Principal;
  try {
    p = await auth.authenticate(c);
  } catch (err) {
    await auth.limits?.address(address);
    throw err;
  }
  if (p.via === 'none') await auth.limits?.address(address);
  else await auth.limits?.principal(p);
  return p;
}

/** Throws PERMISSION_DENIED unless `p` holds `needed`; `what` names the operation in the message. */
export function authorize(p: Principal, needed: Role, what: string): void {
  if (!allows(p.role, needed))
    throw new NerveError(
      'PERMISSION_DENIED',
      `${what} needs role ${needed}; ${p.name} holds ${p.role ?? 'no role'}`,
    );
}

/** Authentication off, for parts used without a control plane's settings (tests, embedding). */
export const OPEN = new Authenticator(false, { lookup: () => undefined } as unknown as ApiKeyRegistry);

import type { Role } from './roles';

/** How a caller proved who it is. */
export type CredentialKind = 'jwt' | 'api-key' | 'certificate' | 'none';

/**
 * Who calls, once authenticated: the name the audit log records (a JWT's `sub`, an API key's name, a
 * client certificate's identity) and the role it holds. An xDS client's node id is bound to `name`.
 */
export interface Principal {
  readonly name: string;
  /** Undefined: authenticated, but holding no role (every operation is refused with 403). */
  readonly role: Role | undefined;
  readonly via: CredentialKind;
  /** When the credential stops being valid (a JWT's `exp`); streams opened with it end then. */
  readonly expiresAtMs?: number;
}

/** Every caller when authentication is off (`nerve demo`, a trusted network): full rights. */
export const UNAUTHENTICATED_ADMIN: Principal = { name: 'anonymous', role: 'admin', via: 'none' };

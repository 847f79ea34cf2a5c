import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { NerveError } from '../model/errors';
import { echo } from '../model/echo';
import type { Principal } from '../model/security/principal';
import { highestRole } from '../model/security/roles';

/** Where tokens' keys come from: exactly one of secret, jwksUrl, publicKeyFile. */
export interface JwtSettings {
  /** HS256 shared secret (JWT_SECRET). */
  readonly secret?: string;
  /** RS256/ES256 keys from a JWKS document (JWKS_URL), fetched and cached by kid. */
  readonly jwksUrl?: string;
  /** RS256/ES256 public key or certificate, PEM (JWT_PUBLIC_KEY_FILE). */
  readonly publicKeyFile?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Seconds of clock difference a token's exp and nbf are given, as most verifiers allow. */
const CLOCK_TOLERANCE_S = 30;

/**
 * Verifies bearer tokens: signature (only the algorithms of the configured key kind: an HS256 token
 * cannot pass as RS256, nor "none"), expiry, not-before, issuer and audience. The principal is the
 * token's `sub`; its role is the highest of the `roles` array or the `role` claim.
 */
export class JwtVerifier {
  private constructor(
    private readonly key: Uint8Array | KeyObject | JWTVerifyGetKey,
    private readonly algorithms: string[],
    private readonly settings: JwtSettings,
  ) {}

  static create(s: JwtSettings): JwtVerifier {
    if (s.secret) {
      if (Buffer.byteLength(s.secret) < 32)
        throw new Error('JWT_SECRET must be at least 32 bytes (HS256 needs a 256-bit key)');
      return new JwtVerifier(new TextEncoder().encode(s.secret), ['HS256'], s);
    }
    if (s.jwksUrl) return new JwtVerifier(createRemoteJWKSet(new URL(s.jwksUrl)), ['RS256', 'ES256'], s);
    if (s.publicKeyFile) {
      const key = createPublicKey(readFileSync(s.publicKeyFile));
      const alg = key.asymmetricKeyType === 'rsa' ? 'RS256' : key.asymmetricKeyType === 'ec' ? 'ES256' : '';
      if (!alg)
        throw new Error(`JWT_PUBLIC_KEY_FILE holds a ${key.asymmetricKeyType} key; RSA or EC P-256 needed`);
      return new JwtVerifier(key, [alg], s);
    }
    throw new Error('JWT verification needs JWT_SECRET, JWKS_URL or JWT_PUBLIC_KEY_FILE');
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      const options = {
        algorithms: this.algorithms,
        issuer: this.settings.issuer || undefined,
        audience: this.settings.audience || undefined,
        clockTolerance: CLOCK_TOLERANCE_S,
        // A token without an expiry would be good forever: refused, as a credential must end.
        requiredClaims: ['exp'],
      };
      // Two calls, not a union: jose overloads jwtVerify on the key's type.
      payload =
        typeof this.key === 'function'
          ? (await jwtVerify(token, this.key, options)).payload
          : (await jwtVerify(token, this.key, options)).payload;
    } catch (err) {
      throw new NerveError('UNAUTHENTICATED', `bearer token refused: ${reason(err)}`);
    }
    const roles = Array.isArray(payload.roles) ? payload.roles : [payload.role];
    return {
      name: typeof payload.sub === 'string' ? payload.sub : 'jwt',
      role: highestRole(roles),
      via: 'jwt',
      expiresAtMs: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
    };
  }
}

/** What a caller may learn of why its token failed: the rule it broke, never the key or the token. */
function reason(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed)
    return err.claim === 'nbf'
      ? 'not valid yet (nbf)'
      : err.reason === 'missing'
        ? `claim ${echo(err.claim, 20)} missing${err.claim === 'exp' ? ' (a token must expire)' : ''}`
        : `claim ${echo(err.claim, 20)} ${err.reason === 'check_failed' ? 'does not match' : echo(err.reason, 40)}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'signing algorithm not accepted';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the key set matches it';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return 'malformed';
  if (err instanceof errors.JOSEError) return echo(err.code, 60);
  return 'cannot be verified now (key set unavailable)';
}

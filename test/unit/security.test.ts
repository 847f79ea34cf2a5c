import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT, type KeyLike } from 'jose';
import { parseApiKeys, resolveSecurity } from '../../src/config/security-settings';
import { identityOf } from '../../src/security/certificate-identity';
import { JwtVerifier } from '../../src/security/jwt-verifier';
import { mayActAs } from '../../src/security/stream-admission';
import { mayChange } from '../../src/router/admin/admin-http';
import { authByDefault, controlPlaneCredentials } from '../../src/cli/common/security-notes';
import { allows, highestRole } from '../../src/model/security/roles';

const dir = mkdtempSync(join(tmpdir(), 'nerve-security-'));

function sign(key: KeyLike, alg: string, claims: Record<string, unknown>, kid?: string): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, ...(kid && { kid }) })
    .setSubject('svc')
    .setExpirationTime('5m')
    .sign(key);
}

describe('JWT verification', () => {
  it('verifies RS256 and ES256 tokens against a PEM key file, and refuses the other algorithm', async () => {
    for (const [type, alg] of [
      ['rsa', 'RS256'],
      ['ec', 'ES256'],
    ] as const) {
      const { publicKey, privateKey } =
        type === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const file = join(dir, `${type}.pem`);
      writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }));
      const v = JwtVerifier.create({ publicKeyFile: file });
      await expect(v.verify(await sign(privateKey, alg, { role: 'operator' }))).resolves.toMatchObject({
        name: 'svc',
        role: 'operator',
        via: 'jwt',
        expiresAtMs: expect.any(Number),
      });
      // A token that never expires is no credential: refused.
      const forever = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg })
        .setSubject('svc')
        .sign(privateKey);
      await expect(v.verify(forever)).rejects.toThrow(/claim "exp" missing \(a token must expire\)/);
      const hs = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('x'.repeat(32)));
      await expect(v.verify(hs)).rejects.toThrow(/signing algorithm not accepted|does not verify/);
    }
  });

  it('fetches keys from a JWKS URL and picks them by kid', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const v = JwtVerifier.create({ jwksUrl: `http://127.0.0.1:${port}/jwks.json`, issuer: 'iss' });
      const good = await new SignJWT({ roles: ['viewer', 'admin'] })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('iss')
        .setSubject('ops')
        .setExpirationTime('5m')
        .sign(privateKey);
      await expect(v.verify(good)).resolves.toMatchObject({ name: 'ops', role: 'admin' });
      const otherKid = await sign(privateKey, 'ES256', {}, 'k2');
      await expect(v.verify(otherKid)).rejects.toThrow(
        'bearer token refused: no key of the key set matches it',
      );
    } finally {
      server.close();
    }
  });

  it('refuses a short HS256 secret', () => {
    expect(() => JwtVerifier.create({ secret: 'short' })).toThrow(/at least 32 bytes/);
  });
});

describe('roles, identities and settings', () => {
  it('orders roles and takes the highest a token lists', () => {
    expect(allows('admin', 'operator')).toBe(true);
    expect(allows('viewer', 'operator')).toBe(false);
    expect(allows(undefined, 'viewer')).toBe(false);
    expect(highestRole(['viewer', 'bogus', 'operator'])).toBe('operator');
    expect(highestRole(['bogus'])).toBeUndefined();
  });

  it('keeps dataplane off the ladder: it includes no rung and no rung includes it', () => {
    for (const rung of ['viewer', 'operator', 'admin'] as const) {
      expect(allows('dataplane', rung)).toBe(false);
      expect(allows(rung, 'dataplane')).toBe(false);
    }
    expect(allows('dataplane', 'dataplane')).toBe(true);
    expect(highestRole(['dataplane'])).toBe('dataplane');
    expect(highestRole(['dataplane', 'viewer'])).toBe('viewer');
  });

  it("binds a data plane's node id to its identity (admins on ADS and auth-off excepted)", () => {
    const router = { name: 'router-a', role: 'dataplane', via: 'api-key' } as const;
    expect(mayActAs(router, 'router-a')).toBe(true);
    expect(mayActAs(router, 'router-b')).toBe(false);
    // A read-only credential is no data plane, even under its own name.
    expect(mayActAs({ name: 'router-a', role: 'viewer', via: 'api-key' }, 'router-a')).toBe(false);
    expect(mayActAs({ name: 'ops', role: 'admin', via: 'jwt' }, 'router-b')).toBe(false);
    expect(mayActAs({ name: 'ops', role: 'admin', via: 'jwt' }, 'router-b', true)).toBe(true);
    expect(mayActAs({ name: 'anonymous', role: 'admin', via: 'none' }, 'x')).toBe(true);
  });

  it('takes a SPIFFE URI SAN before the common name', () => {
    expect(identityOf('DNS:r.local, URI:spiffe://nerve/router-a', 'r')).toBe('spiffe://nerve/router-a');
    expect(identityOf('DNS:r.local', 'router-b')).toBe('router-b');
    expect(identityOf(undefined, undefined)).toBeUndefined();
  });

  it('parses API_KEYS and names the bad entry', () => {
    expect(parseApiKeys('ops:admin:abcdefghijklmnopqrstuvwxyz, r1:viewer:0123456789012345678901234')).toEqual(
      [
        { name: 'ops', role: 'admin', secret: 'abcdefghijklmnopqrstuvwxyz' },
        { name: 'r1', role: 'viewer', secret: '0123456789012345678901234' },
      ],
    );
    expect(() => parseApiKeys('ops:root:abcdefghijklmnopqrstuvwxyz')).toThrow(
      /entry 1 \(ops\): role must be/,
    );
    expect(() => parseApiKeys('ops:admin:short')).toThrow(/at least 24 characters/);
  });

  it('refuses contradictory or incomplete security settings, naming them', () => {
    const r = (env: NodeJS.ProcessEnv) => () => resolveSecurity({}, env, undefined);
    expect(r({ ENABLE_AUTH: 'yes' })).toThrow('ENABLE_AUTH (--enable-auth) must be true or false, got "yes"');
    expect(r({ JWT_SECRET: 'x'.repeat(40), JWKS_URL: 'http://k' })).toThrow(/one of JWT_SECRET, JWKS_URL/);
    expect(r({ TLS_CERT_FILE: '/nope' })).toThrow(/TLS_CERT_FILE and TLS_KEY_FILE go together/);
    expect(r({ CORS_ORIGINS: 'https://a.example/path' })).toThrow(/is not an origin/);
    expect(resolveSecurity({ 'enable-auth': 'true' }, { ENABLE_AUTH: 'false' }, undefined).enableAuth).toBe(
      true,
    );
  });
});

describe("the router admin port's changes", () => {
  it('come from loopback, or with the admin token; reads stay open', () => {
    expect(mayChange('127.0.0.1', undefined, undefined)).toBe(true);
    expect(mayChange('::ffff:127.0.0.1', undefined, undefined)).toBe(true);
    expect(mayChange('::1', undefined, undefined)).toBe(true);
    expect(mayChange('10.0.0.7', undefined, undefined)).toBe(false);
    expect(mayChange('10.0.0.7', 'Bearer wrong', 'the-admin-token')).toBe(false);
    expect(mayChange('10.0.0.7', 'Bearer the-admin-token', 'the-admin-token')).toBe(true);
    expect(mayChange('10.0.0.7', 'Bearer ', '')).toBe(false);
  });
});

describe('authentication off loopback', () => {
  const base = resolveSecurity({}, {}, undefined);
  it('stays as set, and is free on loopback', () => {
    expect(authByDefault(base, '127.0.0.1').enableAuth).toBe(false);
    const off = resolveSecurity({}, { ENABLE_AUTH: 'false' }, undefined);
    expect(authByDefault(off, '0.0.0.0').enableAuth).toBe(false);
  });
  it('is on by default where credentials are configured, and refuses to start open with none', () => {
    const keyed = resolveSecurity({}, { API_KEYS: `ops:admin:${'k'.repeat(24)}` }, undefined);
    expect(authByDefault(keyed, '0.0.0.0').enableAuth).toBe(true);
    expect(() => authByDefault(base, '0.0.0.0')).toThrow(
      /would listen on 0\.0\.0\.0 with authentication off, and no credentials are configured: set ENABLE_AUTH=true/,
    );
  });
});

describe('a router’s token toward its control plane', () => {
  it('goes over TLS off loopback, or the start is refused', () => {
    const withToken = resolveSecurity({}, { NERVE_TOKEN: 'nrv_x' }, undefined);
    expect(controlPlaneCredentials(withToken, ['127.0.0.1:18000', 'localhost:18000']).token).toBe('nrv_x');
    expect(() => controlPlaneCredentials(withToken, ['cp.example:18000'])).toThrow(
      /NERVE_TOKEN would go in clear to cp\.example:18000: set TLS_CA_FILE/,
    );
    expect(
      controlPlaneCredentials(resolveSecurity({}, {}, undefined), ['cp.example:18000']).token,
    ).toBeUndefined();
  });
});

import { redisMinReplicas, redisTarget } from '../../src/config/redis-settings';
import { SettingsError } from '../../src/config/sources';
import { describeRedisTarget } from '../../src/model/redis-target';

const errorsOf = (f: () => unknown): string[] => {
  try {
    f();
  } catch (err) {
    if (err instanceof SettingsError) return [...err.errors];
    throw err;
  }
  throw new Error('no SettingsError');
};

describe('the configuration store target (REDIS_URL or Redis Sentinel)', () => {
  it('is none, one Redis by URL, or Sentinel with its primary name', () => {
    expect(redisTarget({}, {}, undefined)).toBeUndefined();
    expect(redisTarget({}, { REDIS_URL: 'redis://r:6379/0' }, undefined)).toEqual({
      kind: 'url',
      url: 'redis://r:6379/0',
    });
    expect(
      redisTarget(
        {},
        {
          REDIS_SENTINELS: 's1:26379, s2:26380,[::1]:26381',
          REDIS_SENTINEL_NAME: 'nerve',
          REDIS_PASSWORD: 'p',
          REDIS_SENTINEL_PASSWORD: 'sp',
          REDIS_TLS: 'true',
        },
        undefined,
      ),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'nerve',
      password: 'p',
      sentinelPassword: 'sp',
      tls: true,
    });
  });

  it('takes flags over environment over the file; the file may list Sentinels as an array', () => {
    const file = { redisSentinels: ['f1:1', 'f2:2'], redisSentinelName: 'file-name', redisTls: true };
    const t = redisTarget({ 'redis-sentinel-name': 'flag-name' }, { REDIS_TLS: 'false' }, file);
    expect(t).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 'f1', port: 1 },
        { host: 'f2', port: 2 },
      ],
      name: 'flag-name',
      tls: false,
    });
    expect(redisTarget({ 'redis-tls': true }, {}, file)).toMatchObject({ tls: true });
  });

  it('refuses half a setting, naming what is missing and where it comes from', () => {
    expect(errorsOf(() => redisTarget({}, { REDIS_SENTINELS: 's:1' }, undefined))).toEqual([
      expect.stringMatching(
        /REDIS_SENTINELS .* needs REDIS_SENTINEL_NAME \(--redis-sentinel-name, redisSentinelName\)/,
      ),
    ]);
    expect(errorsOf(() => redisTarget({}, { REDIS_SENTINEL_NAME: 'n' }, undefined))[0]).toMatch(
      /REDIS_SENTINEL_NAME .* needs REDIS_SENTINELS/,
    );
    expect(errorsOf(() => redisTarget({}, { REDIS_SENTINEL_PASSWORD: 'x' }, undefined))[0]).toMatch(
      /REDIS_SENTINEL_PASSWORD .* needs REDIS_SENTINELS/,
    );
    expect(errorsOf(() => redisTarget({}, { REDIS_PASSWORD: 'x' }, undefined))[0]).toMatch(
      /REDIS_PASSWORD .* with no store/,
    );
    expect(errorsOf(() => redisTarget({}, { REDIS_TLS: '1' }, undefined))[0]).toMatch(
      /REDIS_TLS .* with no store/,
    );
  });

  it('refuses two stores, two passwords, TLS beside a URL, and bad lists', () => {
    expect(
      errorsOf(() =>
        redisTarget(
          {},
          { REDIS_URL: 'redis://r', REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'n' },
          undefined,
        ),
      )[0],
    ).toMatch(/name two stores/);
    expect(
      errorsOf(() =>
        redisTarget({}, { REDIS_URL: 'redis://:secret@r:6379', REDIS_PASSWORD: 'other' }, undefined),
      ),
    ).toEqual([expect.stringMatching(/carries a password .* gives another/)]);
    expect(
      errorsOf(() => redisTarget({}, { REDIS_URL: 'redis://r', REDIS_TLS: 'yes' }, undefined))[0],
    ).toMatch(/with REDIS_URL .* TLS is rediss:\/\//);
    const bad = errorsOf(() =>
      redisTarget({}, { REDIS_SENTINELS: 's1:26379,nope,s2:99999', REDIS_SENTINEL_NAME: 'n' }, undefined),
    );
    expect(bad).toEqual([expect.stringContaining('"nope"')]);
    const url = errorsOf(() => redisTarget({}, { REDIS_URL: 'http://u:pw@r' }, undefined));
    expect(url[0]).toMatch(/redis:\/\/host:6379/);
    expect(url[0]).not.toContain('pw'); // a password is never printed
  });

  it('is described without its passwords', () => {
    expect(describeRedisTarget({ kind: 'url', url: 'redis://u:secret@r:6379/0' })).toBe(
      'redis://u:***@r:6379/0',
    );
    const s = describeRedisTarget({
      kind: 'sentinel',
      sentinels: [{ host: 's', port: 1 }],
      name: 'n',
      password: 'secret',
      tls: true,
    });
    expect(s).toBe('primary "n" of Sentinels s:1 (TLS)');
  });

  it('takes NERVE_REDIS_MIN_REPLICAS from 0 to 16, only with a store', () => {
    const store = { kind: 'url' as const, url: 'redis://r' };
    expect(redisMinReplicas({}, {}, undefined, store)).toBeUndefined();
    expect(redisMinReplicas({ 'redis-min-replicas': '2' }, {}, undefined, store)).toBe(2);
    expect(redisMinReplicas({}, { NERVE_REDIS_MIN_REPLICAS: '0' }, undefined, store)).toBe(0);
    expect(redisMinReplicas({}, {}, { redisMinReplicas: 3 }, store)).toBe(3);
    expect(
      errorsOf(() => redisMinReplicas({}, { NERVE_REDIS_MIN_REPLICAS: 'two' }, undefined, store))[0],
    ).toMatch(/NERVE_REDIS_MIN_REPLICAS .* whole number from 0 to 16, got "two"/);
    expect(
      errorsOf(() => redisMinReplicas({}, { NERVE_REDIS_MIN_REPLICAS: '1' }, undefined, undefined))[0],
    ).toMatch(/with no store/);
  });
});

import { cacheable, cacheKey, invokeOperation } from '../../src/router/cache/cache-key';
import { ResponseCache } from '../../src/router/cache/response-cache';
import { InvokeRequest } from '../../gen/nerve/engine/v1/engine';

const policy = (extra = {}) => ({
  methods: ['/nerve.engine.v1.Engine/Invoke'],
  operations: [],
  ttlMs: 1_000,
  maxEntries: 3,
  maxBytes: 10_000,
  keyMetadata: [],
  ...extra,
});

function framed(operation: string, payload: string): Buffer {
  const m = InvokeRequest.encode({ operation, payload: Buffer.from(payload), metadata: {} }).finish();
  const out = Buffer.alloc(5 + m.length);
  out.writeUInt32BE(m.length, 1);
  out.set(m, 5);
  return out;
}

describe('response cache store', () => {
  const body = (n: number) => Buffer.alloc(n, 1);

  it('evicts the least recently used past the entry bound', () => {
    const c = new ResponseCache(policy());
    for (const k of ['a', 'b', 'c']) c.set(k, [], body(10), [], 0);
    c.get('a', 1); // a is now the most recent
    c.set('d', [], body(10), [], 2);
    expect(['a', 'b', 'c', 'd'].map((k) => c.get(k, 3) !== undefined)).toEqual([true, false, true, true]);
    expect(c.counters.evictions).toBe(1);
  });

  it('keeps within the byte bound and refuses an answer larger than it', () => {
    const c = new ResponseCache(policy({ maxEntries: 100, maxBytes: 2_000 }));
    for (let i = 0; i < 5; i++) c.set(`k${i}`, [], body(500), [], 0);
    expect(c.sizeBytes).toBeLessThanOrEqual(2_000);
    expect(c.size).toBe(2);
    expect(c.set('huge', [], body(5_000), [], 0)).toBeUndefined();
  });

  it('drops an entry past its TTL, and empties on clear', () => {
    const c = new ResponseCache(policy());
    c.set('a', [], body(1), [], 0);
    expect(c.get('a', 999)).toBeDefined();
    expect(c.get('a', 1_000)).toBeUndefined();
    expect(c.size).toBe(0);
    c.set('b', [], body(1), [], 0);
    c.clear();
    expect([c.size, c.sizeBytes]).toEqual([0, 0]);
  });
});

describe('cache keys', () => {
  const headers = [':path', '/nerve.engine.v1.Engine/Invoke', 'x-tenant', 'a'];

  it('reads the operation without decoding the payload', () => {
    expect(invokeOperation(framed('fibonacci', '{"n":30}'))).toBe('fibonacci');
  });

  it('keys by method, bytes and listed metadata; only listed operations and whole messages', () => {
    const p = policy({ keyMetadata: ['x-tenant'], operations: ['fibonacci'] });
    const k1 = cacheKey(p, headers, framed('fibonacci', '1'));
    expect(k1).toBeDefined();
    expect(cacheKey(p, headers, framed('fibonacci', '1'))).toBe(k1);
    expect(cacheKey(p, headers, framed('fibonacci', '2'))).not.toBe(k1);
    expect(cacheKey(p, [':path', headers[1], 'x-tenant', 'b'], framed('fibonacci', '1'))).not.toBe(k1);
    expect(cacheKey(p, headers, framed('montecarlo', '1'))).toBeUndefined();
    const compressed = framed('fibonacci', '1');
    compressed[0] = 1;
    expect(cacheKey(p, headers, compressed)).toBeUndefined();
    const big = framed('fibonacci', 'x'.repeat(2_000));
    expect(cacheKey(p, headers, big)).toMatch(/#/);
  });

  it('is bypassed by cache-control no-cache and for methods not listed', () => {
    expect(cacheable(policy(), headers)).toBe(true);
    expect(cacheable(policy(), [...headers, 'cache-control', 'no-cache'])).toBe(false);
    expect(cacheable(policy(), [':path', '/nerve.engine.v1.Engine/InvokeStream'])).toBe(false);
  });
});

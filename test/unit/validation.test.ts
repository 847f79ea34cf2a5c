import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/config-file';
import { parseEngineSpec } from '../../src/model/validate';
import { toDocument } from '../../src/model/engine-document';
import type { EngineSpec } from '../../src/model/engine';

describe('engine spec validation', () => {
  it('fills defaults', () => {
    const r = parseEngineSpec({ name: 'math', instances: [{ id: 'm1', address: '127.0.0.1:5000' }] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.versions).toEqual([{ name: 'v1', weight: 100 }]);
    expect(r.value.instances[0]).toEqual({
      id: 'm1',
      address: '127.0.0.1:5000',
      version: 'v1',
      weight: 100,
      priority: 0,
      draining: false,
    });
    expect(r.value.policy.strategy).toBe('round_robin');
    expect(r.value.policy.panicThreshold).toBe(0);
    expect(r.value.policy.hedging).toEqual({
      maxAttempts: 1,
      delayMs: 0,
      nonFatalCodes: ['UNAVAILABLE'],
      methods: [],
    });
    expect(r.value.policy.degraded).toBeUndefined();
    expect(r.value.policy.breaker).toMatchObject({
      windowMs: 0,
      maxOpenMs: 300_000,
      engineFailureRateThreshold: 80,
    });
    expect(r.value.policy.outlier).toMatchObject({ consecutiveErrors: 5, successRateMinimumHosts: 5 });
    expect(r.value.policy.healthCheck).toEqual({
      intervalMs: 5000,
      timeoutMs: 1000,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
    });
  });

  it.each([
    [{ name: 'Bad Name' }, 'name: must be 1-63 lowercase letters'],
    [{ name: 'e', instances: [{ id: 'a', address: 'nohost' }] }, 'instances[0].address: must be host:port'],
    [
      { name: 'e', instances: [{ id: 'a', address: 'h:70000' }] },
      'instances[0].address: must be host:port with a port from 1 to 65535',
    ],
    [
      {
        name: 'e',
        instances: [
          { id: 'a', address: 'h:1' },
          { id: 'a', address: 'h:2' },
        ],
      },
      'instances[1].id: duplicate instance id "a"',
    ],
    [
      { name: 'e', instances: [{ id: 'a', address: 'h:1', version: 'v9' }] },
      'instances[0].version: unknown version "v9" (declared: v1)',
    ],
    [
      { name: 'e', versions: [{ name: 'v1', weight: 0 }] },
      'versions: at least one version needs a weight above 0',
    ],
    [
      { name: 'e', policy: { strategy: 'fastest' } },
      'policy.strategy: unknown strategy "fastest"; known: round_robin',
    ],
    [
      { name: 'e', policy: { fallbackEngines: ['e'] } },
      'policy.fallbackEngines: an engine cannot be its own fallback',
    ],
    [{ name: 'e', policy: { retry: { retryableCodes: ['OK'] } } }, 'policy.retry.retryableCodes[0]'],
    [{ name: 'e', colour: 'red' }, 'Unrecognized key: "colour"'],
    [
      { name: 'e', policy: { hedging: { methods: ['Invoke'] } } },
      'policy.hedging.methods[0]: must be "/pkg.Service/Method" or "pkg.Service/*"',
    ],
    [{ name: 'e', policy: { hedging: { maxAttempts: 9 } } }, 'policy.hedging.maxAttempts'],
    [
      { name: 'e', policy: { degraded: { payload: 'a', payloadBase64: 'YQ==' } } },
      'policy.degraded: set payload or payloadBase64, not both',
    ],
    [
      { name: 'e', policy: { degraded: { messageBase64: 'not base64!' } } },
      'policy.degraded.messageBase64: must be base64',
    ],
    [{ name: 'e', policy: { panicThreshold: 120 } }, 'policy.panicThreshold'],
    [
      { name: 'e', policy: { breaker: { slowCallRateThreshold: -1 } } },
      'policy.breaker.slowCallRateThreshold',
    ],
    [{ name: 'e', policy: { outlier: { intervalMs: 5 } } }, 'policy.outlier.intervalMs'],
  ])('rejects %j with a message naming the field', (input, message) => {
    const r = parseEngineSpec(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.join('\n')).toContain(message);
  });
});

describe('degraded responses in config', () => {
  it('takes the payload as text or base64', () => {
    const text = parseEngineSpec({ name: 'e', policy: { degraded: { payload: 'cached' } } });
    const b64 = parseEngineSpec({
      name: 'e',
      policy: { degraded: { payloadBase64: 'AAE=', messageBase64: 'CgA=' } },
    });
    expect(text.ok && text.value.policy.degraded).toEqual({
      enabled: true,
      payload: Buffer.from('cached'),
      message: undefined,
    });
    expect(b64.ok && b64.value.policy.degraded).toEqual({
      enabled: true,
      payload: Buffer.from([0, 1]),
      message: Buffer.from([10, 0]),
    });
  });
});

describe('config file validation', () => {
  it('reads settings and engines', () => {
    const r = parseConfigText(
      'xdsPort: 0\nengines:\n  - name: math\n    instances: [{ id: m1, address: "127.0.0.1:1" }]\n',
      'nerve.yaml',
    );
    expect(r.ok && r.value.engines.map((e) => e.name)).toEqual(['math']);
  });

  it('prefixes every error with the file and the path of the engine', () => {
    const r = parseConfigText(
      'engines:\n  - name: ok\n  - name: math\n    instances: [{ id: m1, address: nope }]\n',
      'nerve.yaml',
    );
    expect(r).toEqual({
      ok: false,
      errors: ['nerve.yaml: engines[1].instances[0].address: must be host:port with a port from 1 to 65535'],
    });
  });

  it('reports YAML syntax errors and duplicate engines', () => {
    const bad = parseConfigText('engines: [', 'a.yaml');
    expect(!bad.ok && bad.errors[0]).toMatch(/^a\.yaml: not valid YAML/);
    const dup = parseConfigText('engines:\n  - name: x\n  - name: x\n', 'b.yaml');
    expect(!dup.ok && dup.errors).toEqual(['b.yaml: engines[1].name: duplicate engine "x"']);
  });

  it('rejects unknown top-level settings', () => {
    const r = parseConfigText('xdsport: 1\n', 'c.yaml');
    expect(!r.ok && r.errors[0]).toContain('Unrecognized key: "xdsport"');
  });
});

describe("the README's policy example", () => {
  it('is a valid configuration', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const yaml = /```yaml\n(engines:\n {2}- name: pricing\n[\s\S]*?)```/.exec(readme)![1];
    const fallback = '  - name: pricing-lite\n    instances: [{ id: l1, address: "10.0.0.3:7000" }]\n';
    const r = parseConfigText(yaml + fallback, 'README.md');
    expect(r.ok ? [] : r.errors).toEqual([]);
    if (r.ok) expect(r.value.engines[0].policy.hedging?.methods).toHaveLength(2);
  });

  it('caches Engine/Invoke when a cache policy lists operations but no methods; neither is refused', () => {
    const ops = parseEngineSpec({ name: 'e', policy: { cache: { operations: ['price'] } } });
    expect(ops.ok && ops.value.policy.cache?.methods).toEqual(['/nerve.engine.v1.Engine/Invoke']);
    const none = parseEngineSpec({ name: 'e', policy: { cache: { ttlMs: 1000 } } });
    expect(!none.ok && none.errors).toEqual([
      'policy.cache.methods: list the methods to cache, or operations of Engine/Invoke',
    ]);
    const doc = toDocument((ops as { value: EngineSpec }).value) as {
      policy: { cache: { methods: string[] } };
    };
    expect(doc.policy.cache.methods).toEqual(['/nerve.engine.v1.Engine/Invoke']);
  });
});

import { type CanaryRoute, EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { rolloutInputSchema } from '../../src/model/rollout-input';
import { defaultPolicy } from '../../src/model/policy';
import { CallMatcher, cookieValue } from '../../src/router/canary/call-matcher';
import { keyPoint, MAX_MIRRORS_IN_FLIGHT } from '../../src/router/canary/canary-routing';
import { RoutingState } from '../../src/router/proxy/routing-state';

/** An engine with 2 stable instances (v1) and one canary (v2) at `canaryWeight` of 100. */
function engine(canaryWeight: number, route: Partial<CanaryRoute>): EngineCluster {
  return EngineCluster.fromPartial({
    name: 'e',
    versions: [
      { name: 'v1', weight: 100 - canaryWeight },
      { name: 'v2', weight: canaryWeight },
    ],
    endpoints: [
      ['a', 'v1'],
      ['b', 'v1'],
      ['c', 'v2'],
    ].map(([id, version], i) => ({
      id,
      address: `127.0.0.1:${1000 + i}`,
      version,
      weight: 1,
      health: HealthStatus.HEALTH_STATUS_HEALTHY,
    })),
    policy: defaultPolicy(),
    canary: { version: 'v2', rollout: 'r1', match: [], mirrorPercent: 0, ...route },
  });
}

function routing(canaryWeight: number, route: Partial<CanaryRoute>) {
  const state = new RoutingState();
  state.applyClusters([engine(canaryWeight, route)]);
  return state.engine('e')!;
}

const headers = (...pairs: string[]) => [':method', 'POST', ':path', '/x.Y/Z', ...pairs];

describe('match rules (Flagger match: headers and cookies)', () => {
  const matcher = new CallMatcher([
    { headers: { 'x-user-group': { exact: 'beta' } }, cookies: {} },
    { headers: { 'x-region': { regex: 'eu-(west|north)-[0-9]' } }, cookies: { plan: { exact: 'pro' } } },
    { headers: {}, cookies: { canary: { regex: 'always|yes' } } },
  ]);

  it('matches any rule, each with all its conditions', () => {
    expect(matcher.matches(headers('x-user-group', 'beta'))).toBe(true);
    expect(matcher.matches(headers('x-user-group', 'beta2'))).toBe(false);
    expect(matcher.matches(headers('x-region', 'eu-west-1'))).toBe(false); // its cookie is missing
    expect(matcher.matches(headers('x-region', 'eu-west-1', 'cookie', 'plan=pro'))).toBe(true);
    // A regex matches the whole value, as Envoy's safe_regex does.
    expect(matcher.matches(headers('x-region', 'eu-west-12', 'cookie', 'plan=pro'))).toBe(false);
    expect(matcher.matches(headers('cookie', 'a=1; canary=yes'))).toBe(true);
    expect(matcher.matches(headers())).toBe(false);
  });

  it('reads cookies split over several fields, quoted, or among others', () => {
    const h = headers('cookie', 'a=1; b=2', 'cookie', 'canary="always"', 'cookie', 'zcanary=no');
    expect(cookieValue(h, 'canary')).toBe('always');
    expect(cookieValue(h, 'b')).toBe('2');
    expect(cookieValue(h, 'anary')).toBeUndefined();
    expect(cookieValue(headers('cookie', 'empty=; x=1'), 'empty')).toBe('');
    expect(cookieValue(headers('cookie', 'novalue; canary=always'), 'canary')).toBe('always');
  });

  it('runs in linear time on what a caller sends, whatever the pattern', () => {
    const m = new CallMatcher([{ headers: { 'x-a': { regex: '(a+)+$' } }, cookies: {} }]);
    const started = performance.now();
    expect(m.matches(headers('x-a', 'a'.repeat(5_000) + 'b'))).toBe(false);
    expect(performance.now() - started).toBeLessThan(500); // a backtracking engine takes forever
  });

  it('is validated as RE2 and as HTTP/2 names when a rollout is created', () => {
    const parse = (match: unknown) => rolloutInputSchema.safeParse({ version: 'v2', steps: [0], match });
    expect(parse([{ headers: { 'x-user-group': { exact: 'beta' } } }]).success).toBe(true);
    expect(parse([{ headers: { 'X-User': { exact: 'beta' } } }]).success).toBe(false);
    expect(parse([{ headers: { a: { regex: '(?=x)' } } }]).success).toBe(false);
    expect(parse([{ headers: { a: { exact: 'x', regex: 'x' } } }]).success).toBe(false);
    expect(parse([{}]).success).toBe(false);
    expect(parse([{ cookie: { canary: { exact: 'always' } } }]).success).toBe(true);
    expect(
      rolloutInputSchema.safeParse({ version: 'v2', steps: [0, 0, 10, 50], mirror: { percent: 5 } }).success,
    ).toBe(true);
    expect(
      rolloutInputSchema.safeParse({ version: 'v2', steps: [0, 10, 10], mirror: { percent: 5 } }).success,
    ).toBe(false);
  });
});

describe('canary routing in the router', () => {
  it('sends matching calls to the canary at weight 0, and the rest by the weights', () => {
    const entry = routing(0, { match: [{ headers: { 'x-user-group': { exact: 'beta' } }, cookies: {} }] });
    expect(entry.canary!.matches(headers('x-user-group', 'beta'))).toBe(true);
    expect(entry.canary!.pickerFor(true, undefined)!.pick()!.id).toBe('c');
    expect(entry.canary!.matches(headers('x-user-group', 'alpha'))).toBe(false);
    expect(entry.canary!.pickerFor(false, undefined)).toBeUndefined();
    for (let i = 0; i < 50; i++) expect(entry.picker.pick()!.version).toBe('v1');
  });

  it('keeps a session on one version, and one moved to the canary stays as its share grows', () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `session-${i}`);
    const versionOf = (weight: number) => {
      const entry = routing(weight, {});
      return keys.map((k) => entry.canary!.pickerFor(false, k)!.pick(k)!.version);
    };
    const at10 = versionOf(10);
    const at50 = versionOf(50);
    const share10 = at10.filter((v) => v === 'v2').length / keys.length;
    expect(share10).toBeGreaterThan(0.08);
    expect(share10).toBeLessThan(0.12);
    expect(at50.filter((v) => v === 'v2').length / keys.length).toBeGreaterThan(0.46);
    // Monotone: every session on the canary at 10 % is on it at 50 %.
    at10.forEach((v, i) => {
      if (v === 'v2') expect(at50[i]).toBe('v2');
    });
    // Every router puts a key at the same point.
    expect(keyPoint('session-7')).toBe(keyPoint('session-7'));
  });

  it('copies exactly the configured share of the stable calls, and none of the canary own', () => {
    const entry = routing(10, { mirrorPercent: 10 });
    const stable = entry.picker.pick()!;
    const served = { ...stable, version: 'v1' };
    let copies = 0;
    for (let i = 0; i < 1_000; i++) if (entry.canary!.mirrors(served)) copies++;
    expect(copies).toBe(100);
    expect(entry.canary!.mirrors({ ...stable, version: 'v2' })).toBe(false);
  });

  it('stops copying while too many copies are out, and counts what it skipped', () => {
    const canary = routing(0, { mirrorPercent: 100 }).canary!;
    const served = { ...canary.stablePicker.pick()!, version: 'v1' };
    canary.mirrorsInFlight = MAX_MIRRORS_IN_FLIGHT;
    expect(canary.mirrors(served)).toBe(false);
    expect(canary.mirrorsSkipped).toBe(1);
    canary.mirrorsInFlight--;
    expect(canary.mirrors(served)).toBe(true);
  });

  it('has no canary routing without a rollout that routes by call', () => {
    const state = new RoutingState();
    state.applyClusters([{ ...engine(10, {}), canary: undefined }]);
    expect(state.engine('e')!.canary).toBeUndefined();
  });
});

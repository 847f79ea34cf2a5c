import { ConfigAdmin } from '../../src/control-plane/admin/config-admin';
import { EntryAdmin } from '../../src/control-plane/commands/entry-admin';
import { ALERT_RULE_KIND, CHANNEL_KIND, SILENCE_KIND } from '../../src/model/kinds/config-kinds';
import { ALERT_EVENTS, GROUP_LABELS, OPS, RULE_METRICS, SEVERITIES } from '../../src/model/alerts/rule';
import { STRATEGIES } from '../../src/model/policy';
import { MemoryStore } from '../../src/store/memory-store';

const ctx = { actor: 'prop', via: 'rest' as const, requestId: 'r' };
const quiet = () => undefined;

/** A small seeded generator (mulberry32): the same seed makes the same documents, so a failure repeats. */
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  const maybe = <T>(f: () => T): T | undefined => (next() < 0.5 ? f() : undefined);
  const some = <T>(xs: readonly T[]) => xs.filter(() => next() < 0.5);
  return { int, pick, maybe, some };
}

type R = ReturnType<typeof random>;
const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/** An engine document with every policy section at its default or at another value. */
function engine(r: R, i: number) {
  const versions = [
    { name: 'v1', weight: r.int(1, 100) },
    ...(r.maybe(() => [{ name: 'v2', weight: r.int(0, 50) }]) ?? []),
  ];
  return defined({
    name: `e${i}`,
    namespace: r.maybe(() => r.pick(['default', 'team-a', 'team-b'])),
    versions,
    instances: Array.from({ length: r.int(0, 3) }, (_, j) =>
      defined({
        id: `e${i}-${j}`,
        address: `10.0.${i}.${j + 1}:${r.int(1024, 65000)}`,
        version: r.pick(versions).name,
        weight: r.maybe(() => r.int(0, 1000)),
        priority: r.maybe(() => r.int(0, 3)),
        draining: r.maybe(() => r.pick([true, false])),
      }),
    ),
    policy: defined({
      strategy: r.maybe(() => r.pick(STRATEGIES)),
      timeoutMs: r.maybe(() => r.int(1, 60_000)),
      retry: r.maybe(() => ({ maxAttempts: r.int(1, 5), initialBackoffMs: r.int(1, 500) })),
      breaker: r.maybe(() => ({ failureRateThreshold: r.int(1, 100), minimumCalls: r.int(1, 50) })),
      healthCheck: r.maybe(() => ({ intervalMs: r.int(100, 10_000), unhealthyThreshold: r.int(1, 5) })),
      rateLimit: r.maybe(() => ({ requestsPerSecond: r.int(0, 1000), burst: r.int(0, 100) })),
      panicThreshold: r.maybe(() => r.int(0, 100)),
      hedging: r.maybe(() => ({ maxAttempts: r.int(1, 3), delayMs: r.int(0, 100) })),
      degraded: r.maybe(() => ({ payload: `fallback ${r.int(0, 9)}` })),
      cache: r.maybe(() => ({ operations: ['price'], ttlMs: r.int(1, 600_000) })),
      upstreamTls: r.maybe(() => true),
    }),
    services: r.maybe(() => ['acme.pricing.v1.Pricing']),
    registration: r.maybe(() => ({ maxWeight: r.int(0, 500), open: r.pick([true, false]) })),
  });
}

function rule(r: R, i: number) {
  const byEvent = r.pick([true, false]);
  return defined({
    id: `rule-${i}`,
    name: `Rule ${i}`,
    severity: r.pick(SEVERITIES),
    engine: r.maybe(() => 'e0'),
    ...(byEvent
      ? { event: r.pick(ALERT_EVENTS) }
      : { condition: { metric: r.pick(RULE_METRICS), op: r.pick(OPS), threshold: r.int(0, 1000) } }),
    cooldownMs: r.maybe(() => r.int(0, 86_400_000)),
    channels: r.maybe(() => ['chan-0']),
    groupBy: r.maybe(() => {
      const g = r.some(GROUP_LABELS);
      return g.length > 0 ? g : ['rule'];
    }),
    enabled: r.maybe(() => r.pick([true, false])),
  });
}

function channel(r: R, i: number) {
  const type = r.pick(['webhook', 'slack', 'email'] as const);
  return defined({
    name: `chan-${i}`,
    type,
    ...(r.pick([true, false])
      ? {
          url:
            type === 'email'
              ? `smtp://user:secret${i}@mail.example:587`
              : `https://hooks.example/services/T${i}/secret`,
        }
      : { urlFrom: { env: `NERVE_CHANNEL_${i}` } }),
    ...(type === 'email' && { to: ['ops@example.com'] }),
    from: r.maybe(() => 'nerve@localhost'),
    severities: r.maybe(() => r.some(SEVERITIES)),
    timeoutMs: r.maybe(() => r.int(100, 60_000)),
    attempts: r.maybe(() => r.int(1, 10)),
  });
}

function silence(r: R, i: number) {
  return defined({
    id: `quiet-${i}`,
    matchers: [{ label: r.pick(GROUP_LABELS), value: `v${i}` }],
    endsAt: new Date(Date.now() + r.int(60_000, 86_400_000)).toISOString(),
    comment: r.maybe(() => `maintenance ${i}`),
  });
}

function document(seed: number) {
  const r = random(seed);
  return {
    engines: Array.from({ length: r.int(1, 4) }, (_, i) => engine(r, i)),
    'alert-rules': Array.from({ length: r.int(0, 3) }, (_, i) => rule(r, i)),
    'notification-channels': Array.from({ length: r.int(0, 2) }, (_, i) => channel(r, i)),
    silences: Array.from({ length: r.int(0, 2) }, (_, i) => silence(r, i)),
  };
}

/** An export without what differs by when and where it was taken (its time and version). */
const withoutStamps = (doc: object) => {
  const rest = { ...(doc as Record<string, unknown>) };
  delete rest.exportedAt;
  delete rest.version;
  return rest;
};

describe('configuration round trips, over generated documents (defaults and other values alike)', () => {
  it('export → import into an empty control plane → the same export, for 40 documents', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const source = new MemoryStore();
      const first = new ConfigAdmin(source, quiet);
      await first.import(document(seed), false, undefined, ctx);
      const exported = first.export();
      const target = new ConfigAdmin(new MemoryStore(), quiet);
      const dry = await target.import(JSON.parse(JSON.stringify(exported)), true, undefined, ctx);
      expect(dry.changes.every((c) => c.change === 'added')).toBe(true);
      await target.import(JSON.parse(JSON.stringify(exported)), false, undefined, ctx);
      expect([seed, withoutStamps(target.export())]).toEqual([seed, withoutStamps(exported)]);
      // Importing the same export again changes nothing.
      const again = await target.import(JSON.parse(JSON.stringify(exported)), false, undefined, ctx);
      expect([seed, again.changes]).toEqual([seed, []]);
    }
  });

  it('GET → PUT of every rule, channel and silence changes nothing (secrets redacted on the way)', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const store = new MemoryStore();
      await new ConfigAdmin(store, quiet).import(document(seed), false, undefined, ctx);
      const version = store.version();
      for (const [kind, field] of [
        [ALERT_RULE_KIND, 'id'],
        [CHANNEL_KIND, 'name'],
        [SILENCE_KIND, 'id'],
      ] as const) {
        const admin = new EntryAdmin(store, kind, kind, quiet);
        for (const entry of admin.list()) {
          const name = String((entry.value as Record<string, unknown>)[field]);
          await admin.replace(name, JSON.parse(JSON.stringify(entry.value)), entry.revision, ctx);
        }
      }
      expect([seed, store.version()]).toEqual([seed, version]);
    }
  });
});

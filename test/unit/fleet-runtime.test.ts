import {
  blankSlot,
  pickVictims,
  type Slot,
  type SlotLoad,
  type SlotState,
} from '../../src/control-plane/fleet/slot';
import {
  decideScale,
  EMPTY_MEMORY,
  type ScaleInput,
  type ScaleMemory,
} from '../../src/model/fleet/autoscale';
import { afterExit, autoscaleSchema, restartDelayMs, restartSchema } from '../../src/model/runtime';
import { parseEngineSpec } from '../../src/model/validate';

describe('supervision backoff', () => {
  const p = restartSchema.parse({});

  it('doubles from 1 s to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => restartDelayMs(n, p))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000,
    ]);
  });

  it('resets after an instance stayed up resetAfterMs, and stops after maxRestarts crashes in a row', () => {
    let crashes = 0;
    const seen: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const next = afterExit(crashes, 500, p);
      crashes = next.crashes;
      seen.push(next.restart);
    }
    expect(seen).toEqual([true, true, true, true, true, false]);
    expect(afterExit(5, 60_000, p)).toEqual({ crashes: 1, restart: true, delayMs: 1_000 });
  });
});

describe('runtime in engine specs', () => {
  const errors = (runtime: unknown) => {
    const r = parseEngineSpec({ name: 'e', runtime });
    return r.ok ? [] : r.errors;
  };

  it('fills defaults and refuses what cannot run', () => {
    const ok = parseEngineSpec({ name: 'e', runtime: { driver: 'process', command: 'engine' } });
    expect(ok.ok && ok.value.runtime).toMatchObject({
      minReplicas: 1,
      maxReplicas: 10,
      restart: { initialBackoffMs: 1_000, maxBackoffMs: 30_000, resetAfterMs: 60_000, maxRestarts: 5 },
      stop: { drainTimeoutMs: 30_000, graceMs: 10_000 },
    });
    expect(errors({ driver: 'process' })).toEqual(['runtime.command: the process driver needs a command']);
    expect(errors({ driver: 'docker' })[0]).toMatch(/unknown driver "docker"; known: static, process/);
    expect(errors({ driver: 'static', replicas: 2 })[0]).toMatch(/static engine cannot be scaled/);
    expect(errors({ driver: 'process', command: 'x', replicas: 12 })).toEqual([
      'runtime.replicas: must be within minReplicas..maxReplicas (1..10)',
    ]);
    expect(errors({ driver: 'process', command: 'x', autoscale: {} })).toEqual([
      'runtime.autoscale: set exactly one of targetInFlight and targetP95Ms',
    ]);
    expect(errors({ driver: 'process', command: 'x', version: 'v9' })[0]).toMatch(/unknown version "v9"/);
  });
});

describe('autoscaling (HPA) with a fake clock', () => {
  const policy = autoscaleSchema.parse({ targetInFlight: 10, scaleDownCooldownMs: 300_000 });
  const input = (current: number, inFlight: number, extra: Partial<ScaleInput> = {}): ScaleInput => ({
    current,
    ready: current,
    inFlight,
    minReplicas: 1,
    maxReplicas: 8,
    ...extra,
  });

  /** Runs decisions every 15 s from t = 0, carrying the memory. */
  function run(steps: ScaleInput[], p = policy) {
    let memory: ScaleMemory = EMPTY_MEMORY;
    return steps.map((s, i) => {
      const out = decideScale(p, s, memory, i * 15_000);
      memory = out.memory;
      return out.decision;
    });
  }

  it('scales up as ceil(ready × value / target)', () => {
    const [d] = run([input(2, 60)]);
    expect(d).toMatchObject({ current: 2, recommended: 6, desired: 6, value: 30, ratio: 3 });
    expect(d.reason).toMatch(/in-flight per instance 30 vs target 10 \(×3\): recommends 6/);
  });

  it('changes nothing within the tolerance', () => {
    const [d] = run([input(4, 43)]);
    expect(d.desired).toBe(4);
    expect(d.reason).toMatch(/within 10 % of target 10: no change/);
    expect(run([input(4, 45)])[0].desired).toBe(5);
  });

  it('holds a scale-down to the highest recommendation of the stabilisation window', () => {
    // Busy, then quiet: the quiet recommendations wait until the busy one left the 300 s window.
    const steps = [input(6, 60), ...Array.from({ length: 21 }, () => input(6, 5))];
    const out = run(steps);
    expect(out[1].desired).toBe(6);
    expect(out[1].reason).toMatch(/held to 6 by scale-down stabilisation/);
    const firstDown = out.findIndex((d) => d.desired < 6);
    expect(firstDown * 15_000).toBeGreaterThanOrEqual(300_000);
    expect(out[firstDown].desired).toBe(1);
  });

  it('keeps within min..max', () => {
    expect(run([input(4, 400)])[0]).toMatchObject({ recommended: 40, desired: 8 });
    expect(run([input(4, 400)])[0].reason).toMatch(/bounded by maxReplicas 8/);
    const quiet = autoscaleSchema.parse({ targetInFlight: 10, scaleDownCooldownMs: 0 });
    expect(run([input(4, 0, { minReplicas: 2 })], quiet)[0]).toMatchObject({ desired: 2 });
  });

  it('keeps its size without a metric or without serving instances', () => {
    const p95 = autoscaleSchema.parse({ targetP95Ms: 100 });
    expect(run([input(3, 0)], p95)[0]).toMatchObject({ desired: 3, value: null });
    expect(run([input(3, 50, { ready: 0 })])[0]).toMatchObject({ desired: 3 });
    expect(run([input(3, 50, { ready: 0 })])[0].reason).toMatch(/no instance serving/);
  });

  it('scales on p95 latency', () => {
    const p95 = autoscaleSchema.parse({ targetP95Ms: 100 });
    expect(run([input(2, 0, { p95Ms: 250 })], p95)[0]).toMatchObject({ desired: 5, metric: 'p95Ms' });
  });

  it('marks dry-run decisions', () => {
    const dry = autoscaleSchema.parse({ targetInFlight: 10, dryRun: true });
    expect(run([input(2, 60)], dry)[0]).toMatchObject({ desired: 6, dryRun: true });
  });
});

describe('a config file read at start', () => {
  it('keeps the instances a process-driven engine runs, and replaces a static one whole', async () => {
    const { MemoryStore } = await import('../../src/store/memory-store');
    const { seedEngines } = await import('../../src/control-plane/config/seed');
    const { createLogger } = await import('../../src/observability/logger');
    const logger = createLogger('test', 'silent');
    const store = new MemoryStore();
    await store.start();
    const parse = (input: unknown) => {
      const r = parseEngineSpec(input);
      if (!r.ok) throw new Error(r.errors.join('; '));
      return r.value;
    };
    const managed = { name: 'm', runtime: { driver: 'process', command: 'x' } };
    const listed = [{ id: 'm-1', address: '127.0.0.1:7001' }];
    await seedEngines(
      store,
      [
        parse({ ...managed, instances: listed }),
        parse({ name: 's', instances: [{ id: 's-1', address: '127.0.0.1:7002' }] }),
      ],
      logger,
    );
    await seedEngines(
      store,
      [parse({ ...managed, runtime: { ...managed.runtime, replicas: 2 } }), parse({ name: 's' })],
      logger,
    );
    const doc = (name: string) =>
      store.get('engines', name)?.value as { instances: { id: string }[]; runtime?: { replicas?: number } };
    expect(doc('m').instances.map((i) => i.id)).toEqual(['m-1']);
    expect(doc('m').runtime?.replicas).toBe(2);
    expect(doc('s').instances).toEqual([]);
  });
});

describe('drain-first scale-in: which instances leave', () => {
  const slot = (id: string, state: SlotState, startedAtMs: number): Slot => ({
    ...blankSlot('calc', id),
    state,
    startedAtMs,
  });
  const loads: Record<string, SlotLoad> = {
    busy: { inFlight: 9, warmth: 0 },
    warm: { inFlight: 0, warmth: 0.8 },
    cold: { inFlight: 0, warmth: 0.1 },
    idle: { inFlight: 0, warmth: 0 },
  };

  it('takes what does not serve first, then the fewest calls in flight, then the least warm, then the newest', () => {
    const active = [
      slot('busy', 'running', 4),
      slot('warm', 'running', 1),
      slot('cold', 'running', 2),
      slot('idle', 'running', 3),
      slot('booting', 'starting', 5),
    ];
    const order = pickVictims(active, 5, (s) => loads[s.id] ?? { inFlight: 0, warmth: 0 }).map((s) => s.id);
    expect(order).toEqual(['booting', 'idle', 'cold', 'warm', 'busy']);
    // The newest is the tie-break when nothing else tells them apart (and without load figures).
    expect(pickVictims(active.slice(0, 4), 1).map((s) => s.id)).toEqual(['busy']);
  });
});

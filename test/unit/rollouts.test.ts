import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rolloutInputSchema } from '../../src/model/rollout-input';
import type { AdminContext } from '../../src/control-plane/commands/admin-context';
import { instanceLoad, routerReport } from '../helpers/loads';
import { unitPlane } from '../helpers/plane';
import { refusal } from '../helpers/refusal';

const ops: AdminContext = { actor: 'ops', via: 'rest', requestId: '' };

/** A plane with `calc`: c1 on v1 (all traffic) and c2 on v2 (none yet), leading, its modules started. */
async function planeWithCanary() {
  const plane = await unitPlane();
  await plane.admin.specs.create(
    {
      name: 'calc',
      versions: [
        { name: 'v1', weight: 100 },
        { name: 'v2', weight: 0 },
      ],
      instances: [
        { id: 'c1', address: '127.0.0.1:7001', version: 'v1' },
        { id: 'c2', address: '127.0.0.1:7002', version: 'v2' },
      ],
    },
    ops,
  );
  await plane.start();
  return plane;
}

/** One interval of calls as every router reports them: `canaryErrors` of the canary's 50 calls fail. */
function interval(plane: Awaited<ReturnType<typeof unitPlane>>, canaryErrors: number): void {
  const ms = (n: number, v: number) => Array.from({ length: n }, () => v);
  plane.ctx.bus.emit(
    'report.received',
    routerReport(Date.now(), [
      instanceLoad('calc', 'c1', ms(50, 5)),
      instanceLoad('calc', 'c2', ms(50, 5), { errors: canaryErrors }),
    ]),
  );
}

const weights = async (plane: Awaited<ReturnType<typeof unitPlane>>) =>
  Object.fromEntries((await plane.views.getEngine('calc')).versions.map((v) => [v.name, v.weight]));

/** The canary's share of traffic in percent, as routers pick by version weight. */
const share = async (plane: Awaited<ReturnType<typeof unitPlane>>) => {
  const w = await weights(plane);
  return Math.round((100 * w.v2) / (w.v1 + w.v2));
};

/**
 * Canary rollouts over MemoryStore and jest's fake clock, judged on reports put on the bus as routers'
 * streams put them: the rules rollouts.test.ts shows with real routers and engines, in milliseconds.
 */
describe('rollouts over MemoryStore (fake clock)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('leaves the weights and the engine as they were when aborted before it began', async () => {
    const plane = await planeWithCanary();
    const r = await plane.admin.rollouts.create('calc', { version: 'v2', steps: [25, 100] }, ops);
    await plane.admin.rollouts.act('calc', r.id, 'abort', ops); // taken before the first step
    await jest.advanceTimersByTimeAsync(300);
    expect(plane.admin.rollouts.get('calc', r.id).state).toBe('aborted');
    expect(await weights(plane)).toEqual({ v1: 100, v2: 0 });
    // No writer can store an engine that would not read back (it would vanish from every replica).
    const spec = plane.ctx.engines.getNow('calc')!;
    await expect(
      plane.ctx.engines.put(
        { ...spec, versions: spec.versions.map((v) => ({ ...v, weight: 0 })) },
        { actor: 'rollout:x', summary: 'all weights to 0' },
      ),
    ).rejects.toThrow(
      /^rollout:x: refused to store engine "calc", which would not be valid: versions: at least one version needs a weight above 0$/,
    );
    expect(await weights(plane)).toEqual({ v1: 100, v2: 0 });
    await plane.stop();
  });

  it('steps a healthy canary through its weights and promotes it', async () => {
    const plane = await planeWithCanary();
    const r = await plane.admin.rollouts.create(
      'calc',
      { version: 'v2', steps: [25, 100], intervalMs: 1_000 },
      ops,
    );
    await jest.advanceTimersByTimeAsync(200);
    expect(await share(plane)).toBe(25);
    interval(plane, 0);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await share(plane)).toBe(100);
    interval(plane, 0);
    await jest.advanceTimersByTimeAsync(1_000);
    const done = plane.admin.rollouts.get('calc', r.id);
    expect(done.state).toBe('promoted');
    expect(done.history.map((h) => h.verdict)).toEqual(['started', 'pass', 'pass', 'promoted']);
    await plane.stop();
  });

  it('rolls a failing canary back after its failed checks: its weight to 0 at once, the others restored', async () => {
    const plane = await planeWithCanary();
    const r = await plane.admin.rollouts.create(
      'calc',
      { version: 'v2', steps: [50, 100], intervalMs: 1_000, analysis: { failedChecks: 2 } },
      ops,
    );
    await jest.advanceTimersByTimeAsync(200);
    for (let i = 0; i < 2; i++) {
      interval(plane, 25);
      await jest.advanceTimersByTimeAsync(1_000);
    }
    const back = plane.admin.rollouts.get('calc', r.id);
    expect(back.state).toBe('rolled_back');
    expect(back.history.filter((h) => h.verdict === 'fail')).toHaveLength(2);
    expect(back.history[1].evidence?.canary).toMatchObject({ requests: 50, errors: 25, errorRate: 0.5 });
    expect(await weights(plane)).toEqual({ v1: 100, v2: 0 });
    await plane.stop();
  });

  it('waits on too few calls, and refuses a version the engine lacks, a lone version, or a second rollout', async () => {
    const plane = await planeWithCanary();
    expect(await refusal(plane.admin.rollouts.create('calc', { version: 'v3' }, ops))).toBe(
      'FAILED_PRECONDITION',
    );
    expect(await refusal(plane.admin.rollouts.create('calc', { version: 'v2', steps: [50, 10] }, ops))).toBe(
      'INVALID_ARGUMENT',
    );
    const r = await plane.admin.rollouts.create('calc', { version: 'v2', intervalMs: 1_000 }, ops);
    expect(await refusal(plane.admin.rollouts.create('calc', { version: 'v2' }, ops))).toBe(
      'FAILED_PRECONDITION',
    );
    await jest.advanceTimersByTimeAsync(200);
    plane.ctx.bus.emit(
      'report.received',
      routerReport(Date.now(), [instanceLoad('calc', 'c1', [5, 5]), instanceLoad('calc', 'c2', [5])]),
    );
    await jest.advanceTimersByTimeAsync(1_000);
    const waiting = plane.admin.rollouts.get('calc', r.id);
    expect(waiting.state).toBe('progressing');
    expect(waiting.history.map((h) => h.verdict)).toEqual(['started', 'inconclusive']);
    await plane.admin.rollouts.act('calc', r.id, 'abort', ops);
    await jest.advanceTimersByTimeAsync(200);
    expect(plane.admin.rollouts.get('calc', r.id).state).toBe('aborted');
    expect(await weights(plane)).toEqual({ v1: 100, v2: 0 });
    await plane.stop();
  });
});

describe("the README's rollout bodies", () => {
  it('are rollouts the API takes as they are written', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const bodies = [...readme.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((m) => JSON.parse(m[1]) as Record<string, unknown>)
      .filter((b) => typeof b.version === 'string');
    expect(bodies.length).toBeGreaterThanOrEqual(3);
    for (const body of bodies) {
      const parsed = rolloutInputSchema.safeParse(body);
      expect(parsed.error?.issues ?? []).toEqual([]);
    }
  });
});

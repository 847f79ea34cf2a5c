import { ColdStartHolds } from '../../src/router/proxy/cold-start';
import { decideScale, EMPTY_MEMORY, type ScaleInput } from '../../src/model/fleet/autoscale';
import { autoscaleSchema } from '../../src/model/runtime';
import { parseEngineSpec } from '../../src/model/validate';
import { FakeClock } from '../helpers/fake-clock';

const POLICY = { maxHeldCalls: 2, holdTimeoutMs: 1_000 };

describe('cold start: calls held while an engine scales from zero', () => {
  it('tells the control plane once, then sends the held calls on in order with the time they waited', () => {
    const clock = new FakeClock();
    const demand: string[] = [];
    const holds = new ColdStartHolds((e) => demand.push(e), clock);
    const went: string[] = [];
    holds.hold('e', POLICY, (ms) => went.push(`a after ${ms}`), fail);
    clock.advance(200);
    holds.hold('e', POLICY, (ms) => went.push(`b after ${ms}`), fail);
    expect(demand).toEqual(['e']);
    expect(holds.counts()).toEqual({ e: 2 });
    clock.advance(300);
    holds.release('e');
    expect(went).toEqual(['a after 500', 'b after 300']);
    expect(holds.counts()).toEqual({});
    clock.advance(5_000); // their timers are gone
  });

  it('refuses past maxHeldCalls and times out after holdTimeoutMs, saying why', () => {
    const clock = new FakeClock();
    const holds = new ColdStartHolds(() => undefined, clock);
    const failed: string[] = [];
    for (let i = 0; i < 3; i++)
      holds.hold(
        'e',
        POLICY,
        () => failed.push('went'),
        (m) => failed.push(m),
      );
    expect(failed).toEqual([
      'engine "e" has no instance yet (scaling from zero) and this router holds 2 calls for it already (maxHeldCalls 2)',
    ]);
    clock.advance(1_000);
    expect(failed.slice(1)).toEqual([
      expect.stringContaining('no instance serving within the 1000 ms cold-start hold'),
      expect.stringContaining('no instance serving within the 1000 ms cold-start hold'),
    ]);
    expect(holds.counts()).toEqual({});
  });

  it('withdraws a call whose caller went away, and drops the rest when the engine leaves', () => {
    const clock = new FakeClock();
    const demand: string[] = [];
    const holds = new ColdStartHolds((e) => demand.push(e), clock);
    const out: string[] = [];
    const withdraw = holds.hold(
      'e',
      POLICY,
      () => out.push('a'),
      (m) => out.push(m),
    );
    holds.hold(
      'e',
      POLICY,
      () => out.push('b'),
      (m) => out.push(m),
    );
    withdraw();
    expect(holds.counts()).toEqual({ e: 1 });
    holds.drop('e', 'engine "e" was removed');
    expect(out).toEqual(['engine "e" was removed']);
  });
});

function fail(message: string): void {
  throw new Error(`unexpected failure: ${message}`);
}

describe('scale to zero: the rule', () => {
  const policy = autoscaleSchema.parse({ targetInFlight: 4, scaleToZero: { idleMs: 60_000 } });
  const input = (over: Partial<ScaleInput> = {}): ScaleInput => ({
    current: 1,
    ready: 1,
    inFlight: 0,
    requests: 0,
    minReplicas: 0,
    maxReplicas: 4,
    ...over,
  });

  it('stops the last instance after idleMs without a call, counting from when it was last busy', () => {
    let memory = decideScale(policy, input({ requests: 10, inFlight: 1 }), EMPTY_MEMORY, 0).memory;
    expect(memory.busyAtMs).toBe(0);
    const early = decideScale(policy, input(), memory, 59_000);
    expect(early.decision.desired).toBe(1);
    memory = early.memory;
    const idle = decideScale(policy, input(), memory, 60_000);
    expect(idle.decision).toMatchObject({
      desired: 0,
      reason: 'no call for 60 s (scaleToZero after 60 s): scaled to zero; the next call starts an instance',
    });
    // A call in between restarts the clock.
    const busy = decideScale(policy, input({ requests: 1 }), memory, 59_999).memory;
    expect(decideScale(policy, input(), busy, 60_000).decision.desired).toBe(1);
  });

  it('keeps zero while nothing calls, and never scales to zero above minReplicas 0', () => {
    expect(decideScale(policy, input({ current: 0, ready: 0 }), EMPTY_MEMORY, 0).decision.desired).toBe(0);
    const one = decideScale(policy, input({ minReplicas: 1 }), { recommendations: [], busyAtMs: 0 }, 120_000);
    expect(one.decision.desired).toBe(1);
  });

  it('is refused without minReplicas 0', () => {
    const r = parseEngineSpec({
      name: 'e',
      runtime: {
        driver: 'process',
        command: 'x',
        minReplicas: 1,
        autoscale: { targetInFlight: 2, scaleToZero: {} },
      },
    });
    expect(r.ok ? [] : r.errors).toEqual(['runtime.autoscale.scaleToZero: needs minReplicas 0 (it is 1)']);
  });
});

import { CircuitState } from '../../gen/nerve/discovery/v1/resources';
import type { InstanceLoad } from '../../gen/nerve/report/v1/report';
import { CircuitBoard } from '../../src/control-plane/circuits/circuit-board';
import { instanceLoad } from '../helpers/loads';

const {
  CIRCUIT_STATE_CLOSED: CLOSED,
  CIRCUIT_STATE_OPEN: OPEN,
  CIRCUIT_STATE_HALF_OPEN: HALF_OPEN,
} = CircuitState;

const load = (instanceId: string, circuit: CircuitState, circuitSinceMs = 1): InstanceLoad =>
  instanceLoad('e', instanceId, [], { requests: 1, latency: undefined, circuit, circuitSinceMs });

describe('circuit board: global circuit states from router reports', () => {
  let now = 1_000;
  let changes = 0;
  let board: CircuitBoard;
  beforeEach(() => {
    now = 1_000;
    changes = 0;
    board = new CircuitBoard(
      6_000,
      () => changes++,
      () => now,
    );
  });

  it('opens a circuit for all when more than half of the reporting routers have it open', () => {
    board.record('r1', [load('i1', OPEN)], {});
    board.record('r2', [load('i1', CLOSED)], {});
    expect(board.resource('e').instances).toEqual([]); // 1 of 2 is not most
    expect(changes).toBe(2); // r1 alone made it open, r2 closed it again
    board.record('r3', [load('i1', OPEN)], {});
    const [c] = board.resource('e').instances;
    expect(c).toMatchObject({ instanceId: 'i1', state: OPEN, openOn: 2, reporters: 3, sinceMs: 1_000 });
    const status = board.status('e', ['i1', 'i2']);
    expect(status.instances[0].routers).toEqual({ r1: OPEN, r2: CLOSED, r3: OPEN });
    expect(status.instances[1]).toMatchObject({ state: CLOSED, reporters: 0 });
  });

  it('counts only routers that carried calls to the engine recently: an idle view moves nothing', () => {
    const idle = (instanceId: string, circuit: CircuitState): InstanceLoad =>
      instanceLoad('e', instanceId, [], { requests: 0, latency: undefined, circuit, circuitSinceMs: 1 });
    board.record('r1', [load('i1', CLOSED)], {});
    for (const ghost of ['g1', 'g2', 'g3']) board.record(ghost, [idle('i1', OPEN)], {});
    expect(board.resource('e').instances).toEqual([]);
    expect(board.status('e', ['i1']).instances[0]).toMatchObject({ state: CLOSED, reporters: 1, openOn: 0 });
    // A router that served the engine a while ago still counts; past the window it does not.
    now += 30_000;
    board.record('g1', [load('i1', OPEN)], {});
    board.record('r1', [load('i1', CLOSED)], {});
    board.record('g2', [idle('i1', OPEN)], {});
    expect(board.status('e', ['i1']).instances[0]).toMatchObject({ reporters: 2, openOn: 1 });
    now += 61_000;
    board.record('g1', [idle('i1', OPEN)], {});
    board.record('r1', [load('i1', CLOSED)], {});
    expect(board.status('e', ['i1']).instances[0]).toMatchObject({ reporters: 1, openOn: 0 });
  });

  it('reports half-open while most routers are open or probing, engine-wide circuits too', () => {
    board.record('r1', [load('i1', HALF_OPEN)], { e: { state: OPEN, sinceMs: 1 } });
    expect(board.resource('e').instances[0].state).toBe(HALF_OPEN);
    expect(board.resource('e').engineCircuit).toMatchObject({ instanceId: '', state: OPEN });
  });

  it('forgets routers that stopped reporting', () => {
    board.record('r1', [load('i1', OPEN)], {});
    expect(board.resource('e').instances[0].state).toBe(OPEN);
    now += 6_001;
    board.sweep();
    expect(board.resource('e').instances).toEqual([]);
    expect(changes).toBe(2);
  });

  it('a manual reset closes at once and ignores opens from before it', () => {
    board.record('r1', [load('i1', OPEN, 900)], {});
    now = 2_000;
    board.reset('e', ['i1'], true);
    expect(board.resource('e')).toEqual({
      engine: 'e',
      instances: [
        { instanceId: 'i1', state: CLOSED, sinceMs: 2_000, resetAtMs: 2_000, openOn: 0, reporters: 1 },
      ],
      engineCircuit: { instanceId: '', state: CLOSED, sinceMs: 0, resetAtMs: 2_000, openOn: 0, reporters: 0 },
    });
    // r1 has not applied the reset yet: its open from 900 does not count.
    board.record('r1', [load('i1', OPEN, 900)], {});
    expect(board.resource('e').instances[0].state).toBe(CLOSED);
    // A new trip after the reset does.
    board.record('r1', [load('i1', OPEN, 2_500)], {});
    expect(board.resource('e').instances[0].state).toBe(OPEN);
  });

  it('drops circuits nobody reports any more', () => {
    board.record('r1', [load('i1', CLOSED)], {});
    now = 2_000;
    board.reset('e', ['i2'], false);
    expect(board.resource('e').instances.map((c) => c.instanceId)).toEqual(['i2']);
    now += 6_001;
    changes = 0;
    for (let i = 0; i < 10; i++) board.sweep(); // a full sweep every tenth
    expect(board.resource('e').instances).toEqual([]);
    expect(board.status('e', ['i1'])).toMatchObject({ instances: [{ reporters: 0, state: CLOSED }] });
    expect(changes).toBe(1); // the reset i2 left the pushed resource
  });

  it('recomputes only what a report changes', () => {
    board.record('r1', [load('i1', OPEN)], {});
    expect(changes).toBe(1);
    // The same view again (routers report open circuits every interval): nothing to do, no push.
    for (let i = 0; i < 5; i++) board.record('r1', [load('i1', OPEN)], {});
    expect(changes).toBe(1);
    // A new trip (another since) of the same router is a change of view, not of the global state.
    board.record('r1', [load('i1', OPEN, 2)], {});
    expect(changes).toBe(1);
    board.record('r1', [load('i1', CLOSED, 3)], {});
    expect(changes).toBe(2);
  });

  it('leaves out LRS loads, which carry no circuit', () => {
    board.record('grpc-client', [load('i1', CircuitState.CIRCUIT_STATE_UNSPECIFIED)], {});
    expect(board.status('e', ['i1']).instances[0].reporters).toBe(0);
  });
});

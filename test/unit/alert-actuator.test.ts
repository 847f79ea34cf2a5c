import { alertActuator } from '../../src/control-plane/admin/alert-actuator';
import type { AdminContext } from '../../src/control-plane/commands/admin-context';
import { unitPlane } from '../helpers/plane';
import { refusal } from '../helpers/refusal';
import { waitFor } from '../helpers/wait';

const alert: AdminContext = { actor: 'alert:slow', via: 'alert', requestId: 'a1' };

/**
 * What an alert's actions do through the admin commands (alert-actuator.ts), over MemoryStore: each is
 * the operator's command with the alert as actor, and taking an action twice changes nothing the second
 * time (an alert that fires again must not write a new configuration version each time).
 */
describe('alert actions through the admin commands', () => {
  let plane: Awaited<ReturnType<typeof unitPlane>>;
  let act: ReturnType<typeof alertActuator>;
  beforeEach(async () => {
    plane = await unitPlane();
    await plane.admin.specs.create(
      {
        name: 'calc',
        versions: [
          { name: 'v1', weight: 100 },
          { name: 'v2', weight: 0 },
        ],
        instances: [
          { id: 'c1', address: '127.0.0.1:7001', version: 'v1' },
          { id: 'c2', address: '127.0.0.1:7002', version: 'v1' },
          { id: 'c3', address: '127.0.0.1:7003', version: 'v2' },
        ],
      },
      { ...alert, actor: 'ops' },
    );
    await plane.start();
    act = alertActuator(plane.admin, plane.ctx.engines, plane.ctx.store, plane.fleet.events);
  });
  afterEach(() => plane.stop());

  const instance = async (id: string) =>
    (await plane.views.getEngine('calc')).instances.find((i) => i.id === id)!;

  it('drains and undrains once, as the alert, and refuses an instance that is not there', async () => {
    await act.drain('calc', 'c2', alert);
    const drained = act.version();
    await act.drain('calc', 'c2', alert);
    expect(act.version()).toBe(drained);
    expect((await instance('c2')).draining).toBe(true);
    const [newest] = (await plane.admin.config.history(1)).versions;
    expect(newest.actor).toBe('alert:slow');
    await act.undrain('calc', 'c2', alert);
    await act.undrain('calc', 'c2', alert);
    expect(act.version()).toBe(drained + 1);
    expect((await instance('c2')).draining).toBe(false);
    expect(await refusal(act.drain('calc', 'c9', alert))).toBe('NOT_FOUND');
    expect(await refusal(act.undrain('nope', 'c1', alert))).toBe('NOT_FOUND');
  });

  it('pins and unpins a weight of the closed loop', async () => {
    expect(await refusal(act.pinWeight('calc', 'c1', 5, alert))).toBe('FAILED_PRECONDITION');
    await plane.admin.specs.patch('calc', { adaptiveWeights: { intervalMs: 1_000 } }, undefined, alert);
    const pinned = () => plane.ctx.engines.getNow('calc')!.adaptiveWeights!.pinned;
    await act.pinWeight('calc', 'c1', 5, alert);
    expect(pinned()).toEqual({ c1: 5 });
    await act.unpinWeight('calc', 'c1', alert);
    expect(pinned()).toEqual({});
  });

  it('pauses the active rollout and resumes it; with none under way it says so', async () => {
    expect(await refusal(act.pauseRollout('calc', alert))).toBe('FAILED_PRECONDITION');
    const r = await plane.admin.rollouts.create('calc', { version: 'v2', steps: [25, 100] }, alert);
    expect(await act.pauseRollout('calc', alert)).toBe(r.id);
    expect(plane.admin.rollouts.get('calc', r.id).state).toBe('paused');
    expect(await act.pauseRollout('calc', alert)).toBe(r.id); // paused already: nothing more
    await act.resumeRollout('calc', r.id, alert);
    expect(plane.admin.rollouts.get('calc', r.id).state).toBe('progressing');
    await act.resumeRollout('calc', 'no-such-rollout', alert); // nothing to resume: no change
    expect(plane.admin.rollouts.get('calc', r.id).state).toBe('progressing');
  });

  it('has no replicas to give for an engine it does not run, and records fleet events', async () => {
    expect(act.replicas('calc')).toBeUndefined();
    expect(act.replicas('nope')).toBeUndefined();
    act.event('calc', 'c1', 'drained by alert slow', { value: 812 });
    await waitFor(() => plane.fleet.events.list('calc').length > 0, 'the event recorded');
    const events = plane.fleet.events.list('calc');
    expect(events.at(-1)).toMatchObject({
      kind: 'alert_action',
      instance: 'c1',
      message: 'drained by alert slow',
      data: { value: 812 },
    });
  });
});

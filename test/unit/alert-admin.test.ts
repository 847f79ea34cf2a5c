import { AlertAdmin } from '../../src/control-plane/alerts/alert-admin';
import type { AdminContext } from '../../src/control-plane/commands/admin-context';
import { MemoryStore } from '../../src/store/memory-store';
import { unitPlane } from '../helpers/plane';
import { refusal } from '../helpers/refusal';

const ops: AdminContext = { actor: 'ops', via: 'rest', requestId: 'r1' };

/** The alert commands' refusals and kinds, over MemoryStore (the happy paths: alerts.test.ts). */
describe('alert commands', () => {
  it('names the kinds there are when asked for another, and serves each kind', async () => {
    const plane = await unitPlane();
    const alerts = plane.admin.alerts;
    expect(() => alerts.entriesOf('bogus')).toThrow(/kind must be one of .*got "bogus"/);
    for (const kind of [alerts.rules, alerts.channels, alerts.silences]) expect(kind).toBeDefined();
    expect(await refusal(alerts.approveAction('no-such-alert', 0, ops))).toBe('NOT_FOUND');
    expect(await refusal(alerts.acknowledge('no-such-alert', ops))).toBe('NOT_FOUND');
    await plane.stop();
  });

  it('works without an evaluator (a replica that does not lead answers from the store)', async () => {
    const store = new MemoryStore();
    await store.start();
    const alerts = new AlertAdmin(store, () => undefined);
    expect(await refusal(alerts.acknowledge('nothing', ops))).toBe('NOT_FOUND');
    expect(alerts.views.state().alerts).toEqual([]);
  });
});

import type { AdminContext } from '../../src/control-plane/commands/admin-context';
import { unitPlane } from '../helpers/plane';
import { refusal } from '../helpers/refusal';

const alice: AdminContext = { actor: 'alice', via: 'rest', requestId: 'r1' };

const engine = (name: string, instances: string[]) => ({
  name,
  instances: instances.map((id, i) => ({ id, address: `127.0.0.1:${7000 + i}` })),
});

/**
 * The admin commands over the whole control plane's features on MemoryStore: each rule the REST and
 * gRPC suites check through a cluster (validation, versioned commits with their actor, the answer and
 * the next read agreeing, precise refusals), here in milliseconds.
 */
describe('admin commands over MemoryStore', () => {
  let plane: Awaited<ReturnType<typeof unitPlane>>;
  beforeEach(async () => {
    plane = await unitPlane();
    await plane.admin.specs.create(engine('calc', ['c1', 'c2']), alice);
  });
  afterEach(() => plane.stop());

  it('sets a weight as one versioned change by its actor; the answer and the next read agree', async () => {
    const before = plane.ctx.store.version();
    const answer = await plane.admin.setInstanceWeight('calc', 'c1', 40, alice);
    expect(answer.instances.find((i) => i.id === 'c1')?.weight).toBe(40);
    expect((await plane.views.getEngine('calc')).instances.find((i) => i.id === 'c1')?.weight).toBe(40);
    expect(plane.ctx.store.version()).toBe(before + 1);
    const [newest] = (await plane.admin.config.history(1)).versions;
    expect(newest).toMatchObject({ actor: 'alice', summary: 'set the weight of calc/c1 to 40' });
  });

  it('refuses a weight out of range, an unknown engine or instance, each with its code, and changes nothing', async () => {
    const version = plane.ctx.store.version();
    expect(await refusal(plane.admin.setInstanceWeight('calc', 'c1', -1, alice))).toBe('INVALID_ARGUMENT');
    expect(await refusal(plane.admin.setInstanceWeight('calc', 'c1', 1.5, alice))).toBe('INVALID_ARGUMENT');
    expect(await refusal(plane.admin.setInstanceWeight('nope', 'c1', 10, alice))).toBe('NOT_FOUND');
    expect(await refusal(plane.admin.drainInstance('calc', 'c9', alice))).toBe('NOT_FOUND');
    expect(await refusal(plane.admin.removeInstance('calc', 'c9', alice))).toBe('NOT_FOUND');
    expect(plane.ctx.store.version()).toBe(version);
  });

  it('drains and undrains: the answer shows the instance draining, then back to what its probes say', async () => {
    const drained = await plane.admin.drainInstance('calc', 'c2', alice);
    expect(drained.instances.find((i) => i.id === 'c2')).toMatchObject({
      draining: true,
      health: 'draining',
    });
    expect(plane.views.instanceHealth('calc', 'c2')).toBe('draining');
    const back = await plane.admin.undrainInstance('calc', 'c2', alice);
    expect(back.instances.find((i) => i.id === 'c2')).toMatchObject({ draining: false, health: 'unknown' });
  });

  it('adds an instance (a new version at weight 0), refuses a duplicate, creates an engine only when asked', async () => {
    const added = await plane.admin.addInstance(
      { engine: 'calc', id: 'c3', address: '127.0.0.1:7100', version: 'v2' },
      alice,
    );
    expect(added.versions).toEqual([
      { name: 'v1', weight: 100 },
      { name: 'v2', weight: 0 },
    ]);
    expect(
      await refusal(plane.admin.addInstance({ engine: 'calc', id: 'c3', address: '127.0.0.1:7101' }, alice)),
    ).toBe('ALREADY_EXISTS');
    expect(
      await refusal(plane.admin.addInstance({ engine: 'echo', id: 'e1', address: '127.0.0.1:7200' }, alice)),
    ).toBe('NOT_FOUND');
    const created = await plane.admin.addInstance(
      { engine: 'echo', id: 'e1', address: '127.0.0.1:7200', createEngine: true },
      alice,
    );
    expect(created.instances.map((i) => i.id)).toEqual(['e1']);
    const removed = await plane.admin.removeInstance('calc', 'c3', alice);
    expect(removed.instances.map((i) => i.id)).toEqual(['c1', 'c2']);
  });

  it('pages engines by name with tokens it made, and refuses a size or a token it did not', async () => {
    for (const name of ['a', 'b', 'd']) await plane.admin.specs.create(engine(name, ['x']), alice);
    const first = await plane.views.listEngines(2);
    expect(first.engines.map((e) => e.name)).toEqual(['a', 'b']);
    const second = await plane.views.listEngines(2, first.nextPageToken);
    expect(second.engines.map((e) => e.name)).toEqual(['calc', 'd']);
    expect(second.nextPageToken).toBe('');
    expect(await refusal(plane.views.listEngines(1001))).toBe('INVALID_ARGUMENT');
    expect(await refusal(plane.views.listEngines(2, 'not-a-token!'))).toBe('INVALID_ARGUMENT');
  });

  it('writes entries with If-Match: a stale revision is refused, an unknown kind is named', async () => {
    const silences = plane.admin.alerts.silences;
    const made = await silences.create(
      { id: 'quiet', matchers: [{ label: 'engine', value: 'calc' }], duration: '1h' },
      alice,
    );
    expect(
      await refusal(silences.replace('quiet', { ...(made.value as object) }, made.revision - 1, alice)),
    ).toBe('CONFLICT');
    expect(
      await refusal(
        silences.create({ id: 'old', matchers: [{ label: 'rule', value: 'x' }], endsAt: 1 }, alice),
      ),
    ).toBe('INVALID_ARGUMENT');
    expect(() => plane.admin.alerts.entriesOf('engines')).toThrow(/kind must be one of alert-rules/);
    await silences.delete('quiet', made.revision, alice);
    expect(silences.list()).toEqual([]);
  });
});

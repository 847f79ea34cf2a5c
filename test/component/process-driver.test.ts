import type { AdminContext } from '../../src/control-plane/commands/admin-context';
import { PROCESSES_NS, type ProcessRecord } from '../../src/control-plane/fleet/process-record';
import { unitPlane } from '../helpers/plane';
import { waitFor } from '../helpers/wait';

const ops: AdminContext = { actor: 'ops', via: 'rest', requestId: '' };
const IDLE = 'setInterval(() => undefined, 1e6)';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The process driver with real child processes but no engine, no router and no port of Nerve's: the
 * control plane's features over MemoryStore, and a probe the test answers. What fleet-process.test.ts
 * shows with real engines behind a router (start, list once ready, restart, crash loop, scale down),
 * here in a second or two.
 */
describe('process driver over MemoryStore, with a probe the test answers', () => {
  let ready: (address: string) => boolean = () => true;
  let plane: Awaited<ReturnType<typeof unitPlane>>;
  const records = (engine: string): ProcessRecord[] =>
    PROCESSES_NS.values(plane.ctx.store).filter((r) => r.engine === engine);
  const listed = (engine: string) => plane.ctx.engines.getNow(engine)?.instances.map((i) => i.id) ?? [];

  /** An engine whose instances the process driver runs: `node -e <script>`, with runtime settings. */
  const managed = (name: string, script: string, runtime: Record<string, unknown>) =>
    plane.admin.specs.create(
      {
        name,
        instances: [],
        runtime: { driver: 'process', command: process.execPath, args: ['-e', script], ...runtime },
      },
      ops,
    );

  beforeEach(async () => {
    ready = () => true;
    plane = await unitPlane({}, { probe: async (address) => ready(address) });
    await plane.start();
  });
  afterEach(() => plane.stop());

  it('starts the replicas asked for, lists each once its probe passes, and restarts one that died under the same id', async () => {
    let allowed = false;
    ready = () => allowed;
    await managed('calc', IDLE, { replicas: 2, restart: { initialBackoffMs: 20 } });
    await waitFor(() => records('calc').filter((r) => r.pid > 0).length === 2, 'two processes');
    expect(listed('calc')).toEqual([]);
    allowed = true;
    await waitFor(() => listed('calc').length === 2, 'both listed once ready');
    const victim = await waitFor(
      () => records('calc').find((r) => r.state === 'running'),
      'a running record',
    );
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(() => {
      const r = records('calc').find((x) => x.id === victim.id);
      return r !== undefined && r.state === 'running' && r.pid !== victim.pid && r.restarts === 1;
    }, 'the dead instance restarted under its id');
    expect(listed('calc').sort()).toEqual(
      records('calc')
        .map((r) => r.id)
        .sort(),
    );
  });

  it('stops restarting a crash loop and says so with an event', async () => {
    await managed('crasher', 'process.exit(3)', {
      replicas: 1,
      restart: { initialBackoffMs: 10, maxBackoffMs: 20, maxRestarts: 2 },
    });
    await waitFor(
      () => plane.admin.fleet.events('crasher').some((e) => e.kind === 'crash_loop'),
      'crash_loop',
    );
    const [r] = records('crasher');
    expect(r).toMatchObject({ state: 'crash_loop', lastExit: { code: 3 } });
    const restarts = r.restarts;
    await new Promise((done) => setTimeout(done, 200)); // past two more backoffs: nothing restarts it
    expect(records('crasher')[0].restarts).toBe(restarts);
  });

  it('scales down by draining, then signalling: the process ends and its instance leaves the spec', async () => {
    await managed('calc', IDLE, { replicas: 2, minReplicas: 0, stop: { drainTimeoutMs: 100, graceMs: 500 } });
    await waitFor(() => listed('calc').length === 2, 'two listed');
    const pids = records('calc').map((r) => r.pid);
    await plane.admin.fleet.scale('calc', { replicas: 0 }, ops);
    await waitFor(() => listed('calc').length === 0, 'none listed');
    await waitFor(() => pids.every((pid) => !alive(pid)), 'both processes ended');
  });
});

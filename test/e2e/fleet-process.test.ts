import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import {
  AdminClient,
  type GetInstanceLogsRequest,
  type GetInstanceLogsResponse,
  type ListFleetEventsRequest,
  type ListFleetEventsResponse,
} from '../../gen/nerve/admin/v1/admin';
import { startApi, type HttpHandle } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { parseEngineSpec } from '../../src/model/validate';
import { CONFIG_KINDS } from '../../src/model/kinds/config-kinds';
import type { JsonValue } from '../../src/model/config';
import type { Router } from '../../src/router/router';
import { invoke, logger, startControlPlane, startRouter } from '../helpers/cluster';
import { processEngine, processes, runDir, serving, Traffic, waitServing } from '../helpers/fleet';
import { processAlive } from '../../src/control-plane/fleet/process-usage';
import { waitFor } from '../helpers/wait';

jest.setTimeout(90_000);

/** A configuration entry in its stored form (defaults filled in), as the config file would store it. */
function canonical(kind: string, doc: unknown): JsonValue {
  const r = CONFIG_KINDS.get(kind)!.validate(doc, '');
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

function spec(input: unknown) {
  const parsed = parseEngineSpec(input);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}

describe('process driver', () => {
  let cp: ControlPlane;
  let router: Router;
  let api: HttpHandle;
  let client: EngineClient;
  const base = () => `http://127.0.0.1:${api.port}/api/v1/nerve`;
  const post = (path: string, body: unknown = {}) =>
    fetch(`${base()}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    cp = await startControlPlane(
      [
        spec(processEngine('echo-fleet', { replicas: 1, minReplicas: 1, maxReplicas: 4 })),
        spec(
          processEngine('crasher', {
            command: process.execPath,
            args: ['-e', 'process.exit(3)'],
            restart: { initialBackoffMs: 20, maxBackoffMs: 100, maxRestarts: 3 },
          }),
        ),
        spec({ name: 'elsewhere', instances: [] }),
      ],
      {
        runDir: runDir(),
        entries: [
          {
            kind: 'alert-rules',
            name: 'crash',
            value: canonical('alert-rules', {
              id: 'crash',
              name: 'crash loop',
              severity: 'critical',
              event: 'crash_loop',
            }),
          },
        ],
      },
    );
    api = await startApi(cp, logger, '127.0.0.1', 0);
    router = await startRouter(cp, 'fleet-router');
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    await waitServing(cp, 'echo-fleet', 1);
    await waitFor(
      () => router.state.inRotation('echo-fleet').length === 1,
      'the router to route to the instance',
    );
  });

  afterAll(async () => {
    client?.close();
    await router?.stop(500);
    await api?.close();
    await cp?.stop(1_000);
  });

  it('scales 1 → 3 → 1 while calls flow, with no failed call during the scale-down', async () => {
    const traffic = new Traffic(client, 'echo-fleet', 100).start();
    const up = await post('/engines/echo-fleet/scale', { replicas: 3 });
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ replicas: 3, previous: 1 });
    const three = await waitServing(cp, 'echo-fleet', 3);
    await waitFor(
      () => router.state.inRotation('echo-fleet').length === 3,
      'the router to route to all three',
    );
    traffic.reset();
    await waitFor(
      () => three.every((id) => (traffic.byInstance.get(id) ?? 0) > 0),
      'calls to reach all three',
    );
    traffic.reset();
    expect((await post('/engines/echo-fleet/scale', { replicas: 1 })).status).toBe(200);
    await waitServing(cp, 'echo-fleet', 1);
    await waitFor(() => processes(cp, 'echo-fleet').length === 1, 'two processes gone');
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    expect(traffic.ok).toBeGreaterThan(20);
    const view = (await (await fetch(`${base()}/engines/echo-fleet`)).json()) as {
      engine: {
        runtime: { replicas: unknown; events: { kind: string }[] };
        instances: { process?: { pid: number } }[];
      };
    };
    expect(view.engine.runtime.replicas).toMatchObject({ desired: 1, min: 1, max: 4, running: 1 });
    expect(view.engine.instances[0].process?.pid).toBeGreaterThan(0);
    const metrics = await (await fetch(`http://127.0.0.1:${api.port}/metrics`)).text();
    expect(metrics).toMatch(
      /nerve_managed_process_resident_memory_bytes\{engine="echo-fleet",instance="[\w-]+"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      /nerve_managed_process_state\{engine="echo-fleet",instance="[\w-]+",state="running"[^}]*\} 1/,
    );
    const kinds = view.engine.runtime.events.map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['scaled', 'instance_started', 'instance_ready', 'instance_stopped']),
    );
  });

  it('restarts an instance killed with SIGKILL and puts it back in rotation', async () => {
    const [before] = processes(cp, 'echo-fleet', 'running');
    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor(() => {
      const [p] = processes(cp, 'echo-fleet', 'running');
      return p && p.pid !== before.pid && p.id === before.id ? p : false;
    }, 'the instance restarted under its id');
    expect(after.id).toBe(before.id);
    await waitFor(() => serving(cp, 'echo-fleet').includes(before.id), 'it back in rotation');
    await waitFor(
      async () =>
        (await invoke(client, 'echo-fleet', 'echo', 'x').catch(() => undefined))?.instanceId === before.id,
      'a call served by it',
    );
    const events = internals(cp)
      .fleetEvents.list('echo-fleet')
      .map((e) => e.kind);
    expect(events).toContain('instance_exited');
  });

  it('stops a command that exits at once after the restart limit, with a crash_loop event', async () => {
    const [loop] = await waitFor(() => {
      const p = processes(cp, 'crasher', 'crash_loop');
      return p.length === 1 ? p : false;
    }, 'the crash loop');
    const events = internals(cp).fleetEvents.list('crasher');
    expect(events.filter((e) => e.kind === 'instance_exited')).toHaveLength(4);
    expect(events.find((e) => e.kind === 'crash_loop')).toMatchObject({ instance: loop.id });
    expect(serving(cp, 'crasher')).toEqual([]);
    // It raises the crash_loop alert, for that instance.
    await waitFor(
      () =>
        internals(cp)
          .alerts.current()
          .alerts.find((a) => a.rule === 'crash' && a.instance === loop.id),
      'the crash_loop alert',
    );
    // And the live feed's events topic carried it.
    const feed = cp.feed
      .since(0)!
      .filter((m) => m.topic === 'events')
      .map((m) => JSON.parse(m.json) as { data: { kind: string; engine: string } });
    expect(feed.some((m) => m.data.kind === 'crash_loop' && m.data.engine === 'crasher')).toBe(true);
  });

  it('stop drains with no failed call, and start brings the instance back', async () => {
    await post('/engines/echo-fleet/scale', { replicas: 2 });
    const ids = await waitServing(cp, 'echo-fleet', 2);
    await waitFor(() => router.state.inRotation('echo-fleet').length === 2, 'the router to route to both');
    const traffic = new Traffic(client, 'echo-fleet', 100).start();
    const stop = await post(`/engines/echo-fleet/instances/${ids[0]}/stop`);
    expect(stop.status).toBe(202);
    // The next read shows the stop: queued for the leader, or taken by it.
    const view = (await (await fetch(`${base()}/engines/echo-fleet`)).json()) as {
      engine: { runtime: { processes: { id: string; desired: string; queued: string | null }[] } };
    };
    const stopping = view.engine.runtime.processes.find((p) => p.id === ids[0])!;
    expect(stopping.queued === 'stop' || stopping.desired === 'stopped').toBe(true);
    await waitFor(() => processes(cp, 'echo-fleet', 'stopped').length === 1, 'the instance stopped');
    traffic.reset();
    await waitFor(() => traffic.ok > 50, 'calls after the stop');
    await traffic.stop();
    expect(traffic.failures).toEqual([]);
    expect(traffic.byInstance.get(ids[0]) ?? 0).toBe(0);
    expect((await post(`/engines/echo-fleet/instances/${ids[0]}/start`)).status).toBe(202);
    await waitFor(() => serving(cp, 'echo-fleet').length === 2, 'both serving again');
    const logs = (await (
      await fetch(`${base()}/engines/echo-fleet/instances/${ids[0]}/logs?tail=5`)
    ).json()) as { lines: string[] };
    expect(logs.lines.join('\n')).toMatch(/ready on 127\.0\.0\.1:\d+/);
  });

  it('lists what runs again when a configuration write drops it (a rollback, a config file)', async () => {
    const before = serving(cp, 'echo-fleet');
    expect(before.length).toBeGreaterThan(0);
    await cp.admin.specs.patch('echo-fleet', { instances: [] }, undefined, {
      actor: 'test',
      via: 'rest',
      requestId: 't',
    });
    await waitFor(
      () => serving(cp, 'echo-fleet').join() === before.join(),
      'the same instances listed again',
    );
  });

  it('refuses what cannot be done, precisely', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['/engines/elsewhere/scale', { replicas: 2 }, 409, /static driver.*cannot be scaled/],
      ['/engines/echo-fleet/scale', { replicas: 9 }, 400, /within 1\.\.4.*got 9/],
      ['/engines/echo-fleet/scale', { replicas: 'two' }, 400, /replicas: .*expected number/],
      ['/engines/nope/scale', { replicas: 1 }, 404, /engine "nope" not found/],
      ['/engines/echo-fleet/instances/ghost/restart', {}, 404, /no instance "ghost"/],
      ['/engines/elsewhere/instances/x/stop', {}, 409, /static driver/],
    ];
    for (const [path, body, status, message] of cases) {
      const res = await post(path, body);
      const json = (await res.json()) as { error: { message: string } };
      expect([path, res.status]).toEqual([path, status]);
      expect(json.error.message).toMatch(message);
    }
  });

  it('offers the same operations on admin gRPC', async () => {
    const admin = new AdminClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
    const call = <Req, Res>(
      fn: (r: Req, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown,
      req: Req,
    ) => new Promise<Res>((resolve, reject) => fn(req, (e, r) => (e ? reject(e) : resolve(r))));
    try {
      await expect(
        call(admin.scaleEngine.bind(admin), { engine: 'elsewhere', replicas: 2, force: false }),
      ).rejects.toMatchObject({
        code: grpc.status.FAILED_PRECONDITION,
        details: expect.stringMatching(/static driver/),
      });
      await expect(
        call(admin.scaleEngine.bind(admin), { engine: 'echo-fleet', replicas: 7, force: false }),
      ).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
      const id = serving(cp, 'echo-fleet')[0];
      const logs = await call<GetInstanceLogsRequest, GetInstanceLogsResponse>(
        admin.getInstanceLogs.bind(admin),
        {
          engine: 'echo-fleet',
          instanceId: id,
          stream: '',
          tail: 0,
        },
      );
      expect(logs.lines.join('\n')).toMatch(/ready on/);
      const events = await call<ListFleetEventsRequest, ListFleetEventsResponse>(
        admin.listFleetEvents.bind(admin),
        {
          engine: 'echo-fleet',
        },
      );
      expect(events.eventsJson.map((e) => (JSON.parse(e) as { kind: string }).kind)).toContain(
        'instance_ready',
      );
      const pidBefore = processes(cp, 'echo-fleet').find((p) => p.id === id)!.pid;
      const restarted = await call(admin.restartInstance.bind(admin), {
        engine: 'echo-fleet',
        instanceId: id,
      });
      expect(restarted).toEqual({ accepted: true });
      await waitFor(
        () => processes(cp, 'echo-fleet', 'running').some((p) => p.id === id && p.pid !== pidBefore),
        'the instance running again under a new pid',
      );
      await waitFor(() => serving(cp, 'echo-fleet').includes(id), 'it serving again');
    } finally {
      admin.close();
    }
  });

  it('stops what it ran when an engine leaves the process driver, and when it is deleted', async () => {
    const pids = processes(cp, 'echo-fleet').map((p) => p.pid);
    expect(pids.length).toBeGreaterThan(0);
    await cp.admin.specs.patch('echo-fleet', { runtime: null }, undefined, {
      actor: 'test',
      via: 'rest',
      requestId: 't',
    });
    await waitFor(() => processes(cp, 'echo-fleet').length === 0, 'its processes gone');
    await waitFor(() => pids.every((pid) => !processAlive(pid)), 'the processes ended');
    expect(internals(cp).engines.getNow('echo-fleet')?.instances).toEqual([]);
    const crasher = processes(cp, 'crasher');
    expect(crasher).toHaveLength(1);
    await cp.admin.specs.delete('crasher', undefined, { actor: 'test', via: 'rest', requestId: 't' });
    await waitFor(() => processes(cp, 'crasher').length === 0, 'the crash-looping slot gone');
  });

  it("runs a rollout's canary with replicas that follow its weight, and the promoted version in full", async () => {
    await cp.admin.specs.create(
      {
        ...processEngine('canaried', { replicas: 4, maxReplicas: 4, version: 'v1' }, [
          '--version',
          '{version}',
        ]),
        versions: [
          { name: 'v1', weight: 100 },
          { name: 'v2', weight: 0 },
        ],
      },
      { actor: 'test', via: 'rest', requestId: 't' },
    );
    await waitFor(() => processes(cp, 'canaried', 'running').length === 4, 'four v1 instances', 20_000);
    await waitFor(() => router.state.inRotation('canaried').length === 4, 'routed');
    const traffic = new Traffic(client, 'canaried', 100).start();
    const byVersion = () => {
      const counts: Record<string, number> = {};
      for (const r of [...internals(cp).store.shared('processes').values()] as unknown as {
        engine: string;
        version: string;
        state: string;
      }[])
        if (r.engine === 'canaried' && r.state === 'running')
          counts[r.version] = (counts[r.version] ?? 0) + 1;
      return counts;
    };
    const seen = new Set<string>();
    const r = await cp.admin.rollouts.create(
      'canaried',
      // The analysis is not under test here (rollouts.test.ts): lenient, so cold new processes on a loaded
      // machine cannot roll it back.
      {
        version: 'v2',
        steps: [25, 50, 100],
        // Long enough for a step's new canary process to start and pass its probe on a loaded machine.
        intervalMs: 2_000,
        analysis: { minRequests: 5, maxP99Ratio: 100, maxErrorRate: 0.5 },
      },
      {
        actor: 'test',
        via: 'rest',
        requestId: 't',
      },
    );
    await waitFor(
      () => {
        const ro = cp.admin.rollouts.get('canaried', r.id);
        seen.add(`${ro.weight}:${byVersion().v2 ?? 0}`);
        return ro.state === 'promoted' && byVersion().v2 === 4 && !byVersion().v1;
      },
      'the promotion with four v2 instances and no v1',
      60_000,
    );
    await traffic.stop();
    // At 25 % one canary instance ran, at 50 % two: the canary was sized for its share at each step.
    expect(seen).toContain('25:1');
    expect(seen).toContain('50:2');
    expect(traffic.failures).toEqual([]);
    expect(internals(cp).engines.getNow('canaried')?.runtime).toMatchObject({ version: 'v2', replicas: 4 });
    expect(internals(cp).engines.getNow('canaried')?.runtime?.canary).toBeUndefined();
    await cp.admin.specs.delete('canaried', undefined, { actor: 'test', via: 'rest', requestId: 't' });
  });
});

import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import Redis from 'ioredis';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { DemoEngine } from '../../src/engines/engine-server';
import { ENGINE_CLUSTER_TYPE, ROUTE_TABLE_TYPE } from '../../src/protocol/type-urls';
import { Router } from '../../src/router/router';
import { createLogger } from '../../src/observability/logger';
import { invoke } from './cluster';
import { spawnNerve, type Spawned } from './process';
import { startSentinelSet, type SentinelSet } from './redis-sentinel';
import { waitFor } from './wait';
import { startReceiver } from './webhook-receiver';
import { served as servedBy } from './xds-served';

/**
 * The Redis failover drill (the Sentinel chaos test and `npm run bench:redis-failover`): three
 * control-plane processes on Redis through Sentinel (a primary, a replica, three Sentinels), a router
 * under load, a writer committing numbered changes and recording the acknowledged ones, while the
 * primary is SIGKILLed `failovers` times. Everything is measured from outside, as an operator would.
 */
export interface DrillOptions {
  readonly failovers: number;
  /** NERVE_REDIS_MIN_REPLICAS of the control planes (default: theirs, 1 with Sentinel). */
  readonly minReplicas?: number;
  readonly leaseMs?: number;
}

export interface DrillResult {
  /** Changes the writer was told were committed (2xx), and those no replica holds at the end. */
  readonly acknowledged: number;
  readonly lost: readonly string[];
  /** Leaders seen claiming an epoch lower than one claimed before. */
  readonly fenceRegressions: number;
  /** Health probes by a replica after another had taken over (two probers at once). */
  readonly doubledActions: number;
  /**
   * Webhook notifications of one alert that fires before the first failover and resolves after the
   * last: by status, distinct notifications (x-nerve-notification-id) and deliveries.
   */
  readonly notifications: { firing: number; resolved: number; deliveries: number };
  /** Health writes in the store signed by a fence older than one that wrote before them. */
  readonly staleSignedWrites: number;
  readonly routedCalls: number;
  readonly failedCalls: readonly string[];
  /** Per failover: ms from the SIGKILL to the first acknowledged write sent after it. */
  readonly unavailableMs: readonly number[];
  /** Per replica: what its change events got wrong (a version skipped or told twice). */
  readonly eventProblems: readonly string[];
  /** Each replica's change events, in order (versions). */
  readonly eventCounts: readonly number[];
  /** Whether every replica served the same xDS versions and bytes at the end. */
  readonly converged: boolean;
  /** ms per acknowledged commit as the writer saw it, outside failovers. */
  readonly commitMs: readonly number[];
}

interface Cp {
  readonly name: string;
  readonly proc: Spawned;
  readonly xds: string;
  readonly api: string;
}

const logger = createLogger('drill', process.env.TEST_LOG_LEVEL ?? 'silent');
const trace = (what: string) => {
  if (process.env.DRILL_TRACE) process.stderr.write(`[drill ${new Date().toISOString()}] ${what}\n`);
};
const epoch = (fence: string) => Number(fence.slice(fence.lastIndexOf(':') + 1));

async function rest(
  cp: Cp,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${cp.api}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

/**
 * A grpc.health.v1 server that records who probes it and when (one prober at a time is the rule), and
 * answers SERVING or NOT_SERVING as told.
 */
async function probedInstance() {
  const checks: { at: number; peer: string }[] = [];
  let serving = true;
  const server = new grpc.Server();
  server.addService(healthService, {
    check: (
      call: grpc.ServerUnaryCall<unknown, unknown>,
      callback: grpc.sendUnaryData<{ status: string }>,
    ) => {
      checks.push({ at: performance.now(), peer: call.getPeer() });
      callback(null, { status: serving ? 'SERVING' : 'NOT_SERVING' });
    },
    watch: () => undefined,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    checks,
    setServing: (on: boolean) => (serving = on),
    stop: () => server.forceShutdown(),
  };
}

/** What a replica serves over xDS (versions and bytes of the engine types), as one comparable string. */
const served = async (address: string) =>
  JSON.stringify(await servedBy(address, [ENGINE_CLUSTER_TYPE, ROUTE_TABLE_TYPE]));

/**
 * Follows a replica's live feed of change events (SSE) as a client would: reconnecting with
 * Last-Event-ID when the stream ends, recording config versions (and what each said) in order.
 */
function followEvents(cp: Cp): { versions: number[]; notes: string[]; stop(): void } {
  const versions: number[] = [];
  const notes: string[] = [];
  const abort = new AbortController();
  let lastId = '';
  const once = async () => {
    const res = await fetch(`${cp.api}/events?topics=events`, {
      signal: abort.signal,
      headers: lastId ? { 'last-event-id': lastId } : {},
    });
    const reader = res.body!.getReader();
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += Buffer.from(value).toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('id:')) lastId = line.slice(3).trim();
        if (!line.startsWith('data:')) continue;
        const msg = JSON.parse(line.slice(5)) as {
          data: { kind?: string; version?: number; summary?: string };
        };
        if (msg.data.kind === 'config_changed' && typeof msg.data.version === 'number') {
          versions.push(msg.data.version);
          notes.push(`${msg.data.version} ${msg.data.summary ?? ''}`);
        }
      }
    }
  };
  void (async () => {
    while (!abort.signal.aborted) {
      await once().catch(() => undefined);
      notes.push(`(stream ended at ${lastId})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { versions, notes, stop: () => abort.abort() };
}

export async function failoverDrill(options: DrillOptions): Promise<DrillResult> {
  // Sentinel judges a primary down after 2 s here (production: 5 to 30 s): a tighter setting on two
  // loaded cores lets a primary that was merely slow be failed over, which is another drill.
  const set: SentinelSet = await startSentinelSet({ replicas: 1, sentinels: 3, downAfterMs: 2_000 });
  const prefix = `drill-${process.pid}:`;
  const cps: Cp[] = [];
  const stoppers: (() => unknown)[] = [];
  /** The load, the writer and the observer run while this is true (a failing drill stops them too). */
  let running = false;
  try {
    const env: Record<string, string> = {
      REDIS_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: set.name,
      NERVE_REDIS_PREFIX: prefix,
      NERVE_LEADER_LEASE_MS: String(options.leaseMs ?? 1_500),
      ...(options.minReplicas === undefined ? {} : { NERVE_REDIS_MIN_REPLICAS: String(options.minReplicas) }),
    };
    for (const name of ['cp-a', 'cp-b', 'cp-c']) {
      const proc = spawnNerve(
        ['control-plane', '--host', '127.0.0.1', '--api-port', '0', '--xds-port', '0', '--replica-id', name],
        env,
      );
      stoppers.push(() => proc.child.kill('SIGKILL'));
      const [, xds, api] = await proc.waitForOutput(
        /xDS\/admin gRPC on (\S+), REST on (http:\/\/\S+)/,
        30_000,
      );
      cps.push({ name, proc, xds, api });
    }
    trace(`control planes up`);
    const engine = await new DemoEngine({
      type: 'echo',
      id: 'echo-1',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    stoppers.push(() => engine.stop());
    const probed = await probedInstance();
    stoppers.push(() => probed.stop());
    for (const spec of [
      { name: 'echo', instances: [{ id: 'echo-1', address: engine.address }] },
      {
        name: 'probed',
        instances: [{ id: 'p-1', address: probed.address }],
        policy: { healthCheck: { intervalMs: 100 } },
      },
    ])
      await waitFor(
        async () => (await rest(cps[0], 'POST', '/engines', spec)).status === 201,
        `engine ${spec.name}`,
      );
    trace(`engines posted`);
    const events = cps.map(followEvents);
    stoppers.push(() => events.forEach((e) => e.stop()));
    const router = await new Router({
      controlPlanes: [cps[2].xds, cps[1].xds],
      id: 'drill-router',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      logger,
    }).start();
    stoppers.push(() => router.stop(200));
    const client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    stoppers.push(() => client.close());
    await waitFor(
      async () => (await invoke(client, 'echo', 'echo', 'x').catch(() => undefined)) !== undefined,
      'a routed call',
    );

    // A singleton action with a side effect outside Redis: an alert's webhook notification. It fires
    // before the first failover and resolves after the last; the leader may change under it.
    const receiver = await startReceiver();
    stoppers.push(() => receiver.close());
    const watched = await probedInstance();
    stoppers.push(() => watched.stop());
    const hook = { name: 'hook', type: 'webhook', url: receiver.url };
    const rule = {
      id: 'down',
      name: 'watched down',
      severity: 'critical',
      event: 'instance_down',
      engine: 'watched',
      groupWaitMs: 0,
      channels: ['hook'],
    };
    const watchedEngine = {
      name: 'watched',
      instances: [{ id: 'w-1', address: watched.address }],
      policy: { healthCheck: { intervalMs: 100 } },
    };
    for (const [path, body] of [
      ['/notification-channels', hook],
      ['/alert-rules', rule],
      ['/engines', watchedEngine],
    ] as const)
      await waitFor(async () => (await rest(cps[0], 'POST', path, body)).status < 300, `POST ${path}`);
    await waitFor(async () => {
      const h = (await rest(cps[0], 'GET', '/health/watched')).body as { instances?: { health: string }[] };
      return h.instances?.[0]?.health === 'healthy';
    }, 'the watched instance healthy');
    watched.setServing(false);
    const sent = (status: string) => receiver.received.filter((r) => r.body.status === status);
    await waitFor(() => sent('firing').length > 0, 'the alert to fire', 15_000);
    trace(`routed call ok, alert firing`);
    running = true;
    // The router under load: four callers, every failure kept.
    let routedCalls = 0;
    const failedCalls: string[] = [];
    const callers = Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          await invoke(client, 'echo', 'echo', 'x');
          routedCalls++;
        } catch (err) {
          failedCalls.push(String(err));
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    });
    // The writer: numbered changes round the replicas, each retried under its Idempotency-Key until
    // acknowledged (a 503 says the store cannot take it now).
    let refusal = '';
    const acked: { n: number; sentAt: number; at: number; tookMs: number }[] = [];
    const writer = (async () => {
      for (let n = 1; running; n++) {
        const sentAt = performance.now();
        for (let attempt = 0; running; attempt++) {
          const cp = cps[(n + attempt) % cps.length];
          const started = performance.now();
          const res = await rest(
            cp,
            'POST',
            '/engines',
            { name: `w-${n}`, instances: [] },
            { 'idempotency-key': `drill-${n}` },
          ).catch(() => ({ status: 0, body: {} }));
          // 200 with replayed: an earlier attempt committed it and its answer was lost.
          if (
            res.status === 201 ||
            (res.status === 200 && (res.body as { replayed?: boolean }).replayed === true)
          ) {
            const at = performance.now();
            acked.push({ n, sentAt, at, tookMs: attempt === 0 ? at - started : -1 });
            if (process.env.DRILL_TRACE === 'all') trace(`acked w-${n} by ${cp.name} ${res.status}`);
            break;
          }
          refusal = `${cp.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 400)}`;
          if (res.status !== 503 && res.status !== 0)
            throw new Error(`write ${n}: ${res.status} ${JSON.stringify(res.body)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
    // Leaders as every replica reports them, every 100 ms.
    let fenceRegressions = 0;
    let highest = 0;
    const observer = (async () => {
      while (running) {
        for (const cp of cps) {
          const s = await rest(cp, 'GET', '/stats').catch(() => undefined);
          const r = s?.body.replica as { leader: boolean; leaderFence: string | null } | undefined;
          if (!r?.leader || !r.leaderFence) continue;
          if (epoch(r.leaderFence) < highest) fenceRegressions++;
          highest = Math.max(highest, epoch(r.leaderFence));
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const ackedAfter = (t: number) => acked.find((a) => a.sentAt > t);
    const unavailableMs: number[] = [];
    const quiet: [number, number][] = [];
    for (let i = 0; i < options.failovers; i++) {
      const calm = performance.now();
      await waitFor(
        () => ackedAfter(calm + 1_000),
        () => `writes to flow before failover ${i + 1} (last refusal: ${refusal})`,
        30_000,
      );
      trace(`failover ${i + 1}`);
      let killedAt = performance.now();
      await set.failover(() => (killedAt = performance.now()));
      quiet.push([calm, killedAt]);
      const first = await waitFor(
        () => ackedAfter(killedAt),
        'a write acknowledged after the failover',
        60_000,
      );
      unavailableMs.push(first.at - killedAt);
      trace(`write unavailability ${Math.round(first.at - killedAt)} ms, ${acked.length} acked`);
    }
    trace(`failovers done`);
    const calm = performance.now();
    await waitFor(() => ackedAfter(calm + 1_000), 'writes to flow after the last failover', 30_000);
    watched.setServing(true);
    await waitFor(() => sent('resolved').length > 0, 'the alert to resolve', 20_000);
    running = false;
    await Promise.all([writer, observer, ...callers]);
    const distinct = (status: string) =>
      new Set(sent(status).map((r) => String(r.headers['x-nerve-notification-id'] ?? r.at))).size;

    // Every replica converges: the same version in the store's status, the same xDS bytes.
    const last = Math.max(...acked.map((a) => a.n));
    await waitFor(
      async () => {
        const all = await Promise.all(cps.map((cp) => rest(cp, 'GET', '/stats')));
        const versions = all.map((s) => s.body.store as { version: number; state: string });
        return versions.every((v) => v.state === 'ok' && v.version === versions[0].version);
      },
      'every replica at the same version',
      30_000,
    );
    const converged = await waitFor(
      async () => {
        const views = await Promise.all(cps.map((cp) => served(cp.xds)));
        return views.every((v) => v === views[0]) || undefined;
      },
      'every replica to serve the same xDS',
      15_000,
    ).catch(() => false);

    trace(`converged`);
    // Nothing acknowledged lost, on any replica.
    const lost = new Set<string>();
    for (const cp of cps) {
      const names = new Set<string>();
      for (let cursor = ''; ;) {
        const page = (await rest(cp, 'GET', `/engines?limit=1000&cursor=${encodeURIComponent(cursor)}`))
          .body as {
          engines: { name: string }[];
          nextCursor: string | null;
        };
        for (const e of page.engines) names.add(e.name);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      for (const a of acked) if (!names.has(`w-${a.n}`)) lost.add(`w-${a.n} on ${cp.name}`);
    }
    // Change events: consecutive versions, none twice, on every replica.
    const eventProblems: string[] = [];
    events.forEach((e, i) => {
      for (let j = 1; j < e.versions.length; j++)
        if (e.versions[j] !== e.versions[j - 1] + 1)
          eventProblems.push(
            `${cps[i].name}: version ${e.versions[j]} after ${e.versions[j - 1]} (${e.notes.filter((x) => x.startsWith(`${e.versions[j]} `) || x.startsWith('(')).join('; ')})`,
          );
    });
    // Singleton work: once a replica probes after another, the other never probes again.
    const seen: string[] = [];
    let doubledActions = 0;
    for (const c of probed.checks) {
      const at = seen.indexOf(c.peer);
      if (at >= 0 && at < seen.length - 1) doubledActions++;
      if (at !== seen.length - 1) {
        if (at >= 0) seen.splice(at, 1);
        seen.push(c.peer);
      }
    }
    // Health writes in the store, in its order: the fences that signed them never go back.
    const direct = new Redis({ port: await set.primaryPort(), host: '127.0.0.1', maxRetriesPerRequest: 1 });
    let staleSignedWrites = 0;
    try {
      let newest = 0;
      const entries = (await direct.xrange(`${prefix}shared:feed`, '-', '+')) as [string, string[]][];
      for (const [, f] of entries) {
        const fields = new Map<string, string>();
        for (let k = 0; k + 1 < f.length; k += 2) fields.set(f[k], f[k + 1]);
        if (fields.get('n') !== 'health' || !fields.get('v')) continue;
        const by = (JSON.parse(fields.get('v')!) as { by?: string }).by;
        if (!by) continue;
        if (epoch(by) < newest) staleSignedWrites++;
        newest = Math.max(newest, epoch(by));
      }
    } finally {
      direct.disconnect();
    }
    const inQuiet = (a: { sentAt: number }) => quiet.some(([from, to]) => a.sentAt >= from && a.sentAt < to);
    return {
      acknowledged: acked.length,
      lost: [...lost],
      fenceRegressions,
      doubledActions,
      staleSignedWrites,
      routedCalls,
      failedCalls,
      unavailableMs,
      eventProblems,
      eventCounts: events.map((e) => e.versions.length),
      notifications: {
        firing: distinct('firing'),
        resolved: distinct('resolved'),
        deliveries: receiver.received.length,
      },
      converged: converged === true && last > 0,
      commitMs: acked.filter((a) => a.tookMs >= 0 && inQuiet(a)).map((a) => a.tookMs),
    };
  } finally {
    running = false;
    for (const stop of stoppers.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    await set.stop();
  }
}

import { internals } from './internals';
import type * as grpc from '@grpc/grpc-js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineClient } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import type { EngineInput } from '../../src/model/validate';
import { invoke } from './cluster';
import { NERVE_BIN } from './process';
import { waitFor } from './wait';

/** A fresh directory for managed instances' output files. */
export function runDir(): string {
  return mkdtempSync(join(tmpdir(), 'nerve-fleet-'));
}

/** An engine whose instances are `nerve engine` processes run by the process driver. */
export function processEngine(
  name: string,
  runtime: Record<string, unknown> = {},
  engineArgs: string[] = [],
  policy: EngineInput['policy'] = {},
): EngineInput {
  return {
    name,
    policy: {
      healthCheck: { intervalMs: 100, timeoutMs: 2_000, healthyThreshold: 1, unhealthyThreshold: 1 },
      ...policy,
    },
    runtime: {
      driver: 'process',
      command: process.execPath,
      args: [NERVE_BIN, 'engine', '--type', 'echo', '--name', name, '--id', '{id}', ...engineArgs],
      env: { LOG_LEVEL: 'warn' },
      restart: { initialBackoffMs: 50, maxBackoffMs: 500 },
      stop: { drainTimeoutMs: 5_000, graceMs: 2_000 },
      ...runtime,
    },
  } as EngineInput;
}

/** Managed instances of an engine in a given state, from the shared records. */
export function processes(
  cp: ControlPlane,
  engine: string,
  state?: string,
): { id: string; pid: number; state: string }[] {
  return [...internals(cp).store.shared('processes').values()]
    .map((v) => v as unknown as { engine: string; id: string; pid: number; state: string })
    .filter((r) => r.engine === engine && (!state || r.state === state))
    .map((r) => ({ id: r.id, pid: r.pid, state: r.state }));
}

/** Instances routers may pick (listed, not draining, healthy) as the control plane sees them. */
export function serving(cp: ControlPlane, engine: string): string[] {
  const spec = internals(cp).engines.getNow(engine);
  return (spec?.instances ?? [])
    .filter((i) => !i.draining && cp.admin.views.instanceHealth(engine, i.id) === 'healthy')
    .map((i) => i.id)
    .sort();
}

export function waitServing(
  cp: ControlPlane,
  engine: string,
  n: number,
  timeoutMs = 20_000,
): Promise<string[]> {
  return waitFor(
    () => {
      const ids = serving(cp, engine);
      return ids.length === n && processes(cp, engine).length === n ? ids : false;
    },
    `${n} instance(s) of ${engine} serving`,
    timeoutMs,
  );
}

/**
 * Calls through a router at a steady rate until stopped: counts answers per instance and keeps every
 * failure (a scale-down or a drain must make none).
 */
export class Traffic {
  readonly byInstance = new Map<string, number>();
  readonly failures: string[] = [];
  ok = 0;
  private timer?: NodeJS.Timeout;
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly client: EngineClient,
    private readonly engine: string,
    private readonly perSecond = 100,
  ) {}

  start(): this {
    const every = 1000 / this.perSecond;
    let next = Date.now();
    const tick = () => {
      const now = Date.now();
      while (next <= now) {
        next += every;
        const p = invoke(this.client, this.engine, 'echo', 'x').then(
          (res) => {
            this.ok++;
            this.byInstance.set(res.instanceId, (this.byInstance.get(res.instanceId) ?? 0) + 1);
          },
          (err: grpc.ServiceError) => {
            this.failures.push(`${err.code}: ${err.details}`);
          },
        );
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
      }
      this.timer = setTimeout(tick, Math.max(1, next - Date.now()));
    };
    tick();
    return this;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await Promise.all([...this.inFlight]);
  }

  reset(): void {
    this.byInstance.clear();
    this.failures.length = 0;
    this.ok = 0;
  }
}

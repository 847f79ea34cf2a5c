import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { EngineSpec } from '../../model/engine';
import { afterExit, codeVersion, type RuntimeSpec } from '../../model/runtime';
import { allocatePort } from './port';
import { type ExitInfo, ManagedProcess } from './managed-process';
import { outputPaths, rotateIfLarge } from './output-files';
import { cpuShare, readProcessStat } from './process-usage';
import type { FleetContext } from './fleet-context';
import { PROCESSES_NS, type ProcessRecord, runtimeHash, substitute } from './process-record';
import { SpecWriter } from './spec-writer';
import {
  blankSlot,
  pickVictims,
  type Slot,
  type SlotState,
  slotKey,
  slotRecord,
  versionGroups,
} from './slot';
import type { InstanceOp, RuntimeDriver } from './driver';

const OUTPUT_MAX_BYTES = 1024 * 1024;
const READY_POLL_MS = 50;

/**
 * Instances as child processes of the leader: each gets a port (in `PORT`), its output in files, health
 * probing before it takes calls, restarts with backoff after crashes and a crash-loop stop, a graceful
 * drain before it is signalled, and CPU and memory sampling. What runs is recorded in the shared
 * `processes` namespace, so a new leader adopts live processes on its host instead of doubling them.
 */
export class ProcessDriver implements RuntimeDriver {
  readonly name = 'process' as const;
  readonly managed = true;
  private readonly slots = new Map<string, Slot>();
  private readonly host = hostname();
  private readonly spec: SpecWriter;
  private leading = false;
  private publishing = false;
  private readonly dirty = new Set<string>();

  constructor(private readonly ctx: FleetContext) {
    this.spec = new SpecWriter(ctx);
  }

  async lead(engines: readonly EngineSpec[]): Promise<void> {
    this.leading = true;
    const byName = new Map(engines.map((e) => [e.name, e]));
    for (const [key, value] of PROCESSES_NS.map(this.ctx.store)) {
      if (this.slots.has(key)) continue;
      const r = value;
      const spec = byName.get(r.engine);
      const slot = this.slotFrom(r);
      this.slots.set(key, slot);
      if (r.host === this.host) {
        const proc = r.pid > 0 ? ManagedProcess.adopt(r.pid, r.startTicks ?? undefined) : undefined;
        if (proc) {
          this.attach(slot, proc);
          slot.state = r.state === 'starting' ? 'starting' : 'running';
          slot.readyAtMs = r.readyAt ? Date.parse(r.readyAt) : Date.now();
          this.ctx.events.record(
            'instance_adopted',
            r.engine,
            `adopted pid ${r.pid} left by the previous leader`,
            r.id,
            { pid: r.pid },
          );
          if (slot.state === 'starting' && spec?.runtime)
            this.enqueue(slot, () => this.awaitReady(slot, spec.runtime!));
        } else if (r.desired === 'running' && r.state !== 'crash_loop') {
          slot.state = 'backoff';
          this.enqueue(slot, () => this.launch(slot));
        }
      } else if (await this.ctx.probe(`${r.address}`, 1_000)) {
        // Its host is alive and it serves: counted, not doubled. It cannot be signalled from here.
        slot.state = 'remote';
        slot.message = `runs on host ${r.host} (pid ${r.pid}), left by a previous leader`;
      } else if (r.desired === 'running') {
        // Its host is gone (its processes with it): start it again here, under the same id.
        slot.port = 0;
        slot.host = spec?.runtime?.host ?? slot.host;
        this.enqueue(slot, () => this.launch(slot));
      }
      this.touch(slot);
    }
    for (const spec of engines) this.reconcile(spec);
  }

  follow(): void {
    this.leading = false;
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    // Processes keep running: the next leader adopts them (same host) or counts them (another host).
    this.slots.clear();
  }

  reconcile(spec: EngineSpec): void {
    const rt = spec.runtime;
    if (!this.leading || rt?.driver !== 'process') return;
    const mine = [...this.slots.values()].filter((s) => s.engine === spec.name);
    const active = mine.filter((s) => !s.removing);
    // Replicas per version: the runtime's version, and a rollout's canary beside it.
    const groups = versionGroups(spec);
    let complete = true;
    for (const [version, want] of groups) {
      const have = active.filter((s) => s.version === version);
      for (let n = have.length; n < want; n++) {
        const slot = this.newSlot(spec, rt, version);
        this.enqueue(slot, () => this.launch(slot));
        complete = false;
      }
      if (have.some((s) => s.state !== 'running' && s.state !== 'remote')) complete = false;
      if (have.length > want)
        for (const victim of pickVictims(have, have.length - want, (slot) => ({
          inFlight: this.ctx.inFlight(slot.engine, slot.id),
          warmth: this.ctx.warmth(slot.engine, slot.id),
        })))
          this.remove(spec, victim, `scale ${version} to ${want}`);
    }
    // Instances of a version no longer run leave once what replaces them serves (a promotion, a changed
    // runtime version): capacity never dips below the spec.
    if (complete)
      for (const slot of active)
        if (!groups.has(slot.version)) this.remove(spec, slot, `version ${slot.version} is no longer run`);
    // A changed command or environment rolls out one instance at a time.
    const settled = active.every((s) => s.pending === 0 && s.state !== 'starting');
    const stale = active.find(
      (s) =>
        groups.has(s.version) &&
        s.hash !== runtimeHash(spec, s.version) &&
        s.state === 'running' &&
        !s.removing,
    );
    if (settled && stale) {
      this.ctx.events.record(
        'instance_stopped',
        spec.name,
        `restarting ${stale.id}: its runtime changed`,
        stale.id,
      );
      this.enqueue(stale, () => this.restart(stale, spec.name));
    }
    // The spec follows what runs even when something else rewrote it (a configuration rollback, a
    // config file at start): instances with no slot leave it, serving slots it lacks are listed again.
    const known = new Set(mine.map((s) => s.id));
    const strays = spec.instances.filter((i) => !known.has(i.id)).map((i) => i.id);
    if (strays.length > 0) void this.spec.unlist(spec.name, strays);
    for (const slot of active)
      if (
        (slot.state === 'running' || slot.state === 'remote') &&
        slot.pending === 0 &&
        !spec.instances.some((i) => i.id === slot.id)
      )
        this.enqueue(slot, () =>
          this.spec.list(slot.engine, slot.id, `${slot.host}:${slot.port}`, slot.version),
        );
  }

  private remove(spec: EngineSpec, victim: Slot, why: string): void {
    if (victim.removing) return;
    victim.removing = true;
    this.ctx.events.record('scaled', spec.name, `removing ${victim.id} (${why})`, victim.id);
    this.enqueue(victim, () => this.stop(victim, spec, true));
  }

  async release(engine: string): Promise<void> {
    const mine = [...this.slots.values()].filter((s) => s.engine === engine);
    // Moved to another driver: what it ran leaves routing before it stops.
    if (this.ctx.engines.getNow(engine))
      await this.spec.unlist(
        engine,
        mine.map((s) => s.id),
      );
    await Promise.all(
      mine.map(async (slot) => {
        slot.removing = true;
        clearTimeout(slot.timer);
        slot.state = 'stopping';
        if (slot.proc) await slot.proc.terminate(10_000);
        this.slots.delete(slotKey(slot));
        this.touch(slot, true);
      }),
    );
  }

  operate(engine: string, instance: string, op: InstanceOp): void {
    const slot = this.slots.get(`${engine}/${instance}`);
    if (!slot || slot.removing || !this.leading) return;
    if (op === 'stop') {
      slot.desired = 'stopped';
      this.enqueue(slot, () => this.stop(slot, this.ctx.engines.getNow(engine), false));
    } else if (op === 'start') {
      slot.desired = 'running';
      slot.crashes = 0;
      clearTimeout(slot.timer);
      if (!slot.proc) this.enqueue(slot, () => this.launch(slot));
    } else this.enqueue(slot, () => this.restart(slot, engine));
  }

  sample(): void {
    for (const slot of this.slots.values()) this.sampleSlot(slot);
  }

  private sampleSlot(slot: Slot): void {
    if (!slot.proc?.running) return;
    const now = Date.now();
    const stat = readProcessStat(slot.proc.pid);
    if (!stat) return;
    if (slot.stat) slot.cpu = cpuShare(slot.stat, stat, now - slot.statAtMs);
    slot.stat = stat;
    slot.statAtMs = now;
    slot.rssBytes = stat.rssBytes;
    const paths = outputPaths(this.ctx.runDir, slot.engine, slot.id);
    rotateIfLarge(paths.stdout, OUTPUT_MAX_BYTES);
    rotateIfLarge(paths.stderr, OUTPUT_MAX_BYTES);
    this.touch(slot);
  }

  async shutdown(stopProcesses: boolean): Promise<void> {
    const procs = [...this.slots.values()].flatMap((s) => (s.proc ? [s.proc] : []));
    this.follow();
    if (stopProcesses) await Promise.all(procs.map((p) => p.terminate(5_000)));
  }

  /** Instances this leader runs (tests and views). */
  running(engine: string): { id: string; pid: number; state: string }[] {
    return [...this.slots.values()]
      .filter((s) => s.engine === engine)
      .map((s) => ({ id: s.id, pid: s.proc?.pid ?? 0, state: s.state }));
  }

  private newSlot(spec: EngineSpec, rt: RuntimeSpec, version: string): Slot {
    const slot = blankSlot(spec.name, `${spec.name}-${randomBytes(3).toString('hex')}`);
    slot.host = rt.host;
    slot.version = version;
    slot.hash = runtimeHash(spec, version);
    this.slots.set(slotKey(slot), slot);
    return slot;
  }

  private slotFrom(r: ProcessRecord): Slot {
    return Object.assign(blankSlot(r.engine, r.id), {
      port: r.port,
      host: r.address.slice(0, r.address.lastIndexOf(':')),
      version: r.version,
      hash: r.hash,
      state: r.state as SlotState,
      desired: r.desired,
      crashes: r.crashes,
      restarts: r.restarts,
      startedAtMs: r.startedAt ? Date.parse(r.startedAt) : 0,
      lastExit: r.lastExit ?? undefined,
      message: r.message,
    });
  }

  private enqueue(slot: Slot, fn: () => Promise<void>): void {
    slot.pending++;
    slot.chain = slot.chain
      .then(() => (this.leading && this.slots.get(slotKey(slot)) === slot ? fn() : undefined))
      .catch((err: unknown) => {
        slot.message = `supervision error: ${String(err)}`;
        this.ctx.logger.error('supervision step failed', {
          engine: slot.engine,
          instance: slot.id,
          error: String(err),
        });
      })
      .finally(() => {
        slot.pending--;
        this.touch(slot);
      });
  }

  /** Starts the slot's process and lists it in the spec once it answers its health check. */
  private async launch(slot: Slot): Promise<void> {
    const spec = this.ctx.engines.getNow(slot.engine);
    const rt = spec?.runtime;
    if (!spec || rt?.driver !== 'process' || slot.desired !== 'running' || slot.proc?.running) return;
    if (slot.port === 0) slot.port = await allocatePort(rt.host);
    slot.host = rt.host;
    slot.hash = runtimeHash(spec, slot.version);
    // A baseline's replicas run the stable version's code under their own routing label.
    const version = codeVersion(slot.version);
    const vars = { port: String(slot.port), id: slot.id, engine: slot.engine, version };
    const paths = outputPaths(this.ctx.runDir, slot.engine, slot.id);
    const proc = ManagedProcess.spawn({
      command: substitute(rt.command!, vars),
      args: rt.args.map((a) => substitute(a, vars)),
      env: {
        ...rt.env,
        PORT: String(slot.port),
        NERVE_ENGINE: slot.engine,
        NERVE_INSTANCE_ID: slot.id,
        NERVE_VERSION: version,
      },
      cwd: rt.cwd,
      stdoutPath: paths.stdout,
      stderrPath: paths.stderr,
    });
    slot.state = 'starting';
    slot.startedAtMs = Date.now();
    slot.readyAtMs = 0;
    slot.message = '';
    slot.stat = undefined;
    this.attach(slot, proc);
    this.ctx.events.record(
      'instance_started',
      slot.engine,
      `started pid ${proc.pid} on port ${slot.port}`,
      slot.id,
      {
        pid: proc.pid,
        port: slot.port,
        restarts: slot.restarts,
      },
    );
    this.touch(slot);
    await this.awaitReady(slot, rt);
  }

  private async awaitReady(slot: Slot, rt: RuntimeSpec): Promise<void> {
    const proc = slot.proc;
    if (!proc) return;
    const deadline = slot.startedAtMs + rt.startTimeoutMs;
    const address = `${slot.host}:${slot.port}`;
    while (proc.running && slot.proc === proc && this.leading) {
      if (await this.ctx.probe(address, 1_000)) {
        slot.state = 'running';
        slot.readyAtMs = Date.now();
        this.sampleSlot(slot);
        await this.spec.list(slot.engine, slot.id, address, slot.version);
        if (slot.lastExit) {
          // A restart: back in routing as soon as probes and routers hear of it.
          this.ctx.checkNow(slot.engine, slot.id);
          await this.ctx.resetCircuit(slot.engine, slot.id);
        }
        this.ctx.events.record(
          'instance_ready',
          slot.engine,
          `serving after ${slot.readyAtMs - slot.startedAtMs} ms`,
          slot.id,
          { startupMs: slot.readyAtMs - slot.startedAtMs, address },
        );
        return;
      }
      if (Date.now() >= deadline) {
        slot.message = `did not answer its health check within ${rt.startTimeoutMs} ms`;
        await proc.terminate(rt.stop.graceMs);
        return;
      }
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
  }

  private attach(slot: Slot, proc: ManagedProcess): void {
    slot.proc = proc;
    void proc.exited.then((info) => this.onExit(slot, proc, info));
  }

  /** A process ended on its own: restart it with backoff, or stop in a crash loop. */
  private onExit(slot: Slot, proc: ManagedProcess, info: ExitInfo): void {
    if (slot.proc !== proc) return;
    slot.proc = undefined;
    if (!this.leading || this.slots.get(slotKey(slot)) !== slot || slot.state === 'stopping' || slot.removing)
      return;
    const rt = this.ctx.engines.getNow(slot.engine)?.runtime;
    if (rt?.driver !== 'process') return;
    const now = Date.now();
    const upMs = slot.readyAtMs > 0 ? now - slot.readyAtMs : 0;
    const exit = {
      code: info.code,
      signal: info.signal,
      at: new Date(now).toISOString(),
      upMs,
      error: info.error ?? null,
    };
    slot.lastExit = exit;
    const next = afterExit(slot.crashes, upMs, rt.restart);
    slot.crashes = next.crashes;
    // Out of routing now rather than at its next probe.
    this.ctx.checkNow(slot.engine, slot.id);
    const how = info.error ?? (info.signal ? `killed by ${info.signal}` : `exited with code ${info.code}`);
    this.ctx.events.record('instance_exited', slot.engine, `${how} after ${upMs} ms up`, slot.id, exit);
    if (next.restart && slot.desired === 'running') {
      slot.state = 'backoff';
      slot.nextStartAtMs = now + next.delayMs;
      slot.message = `restarting in ${next.delayMs} ms (crash ${next.crashes} in a row)`;
      slot.timer = setTimeout(() => {
        slot.restarts++;
        this.enqueue(slot, () => this.launch(slot));
      }, next.delayMs);
      slot.timer.unref();
    } else if (slot.desired === 'running') {
      slot.state = 'crash_loop';
      slot.message = `crash loop: ${next.crashes} crashes in a row, none up ${rt.restart.resetAfterMs} ms; restart it by hand`;
      this.ctx.events.record('crash_loop', slot.engine, slot.message, slot.id, {
        crashes: next.crashes,
        lastExit: exit,
      });
    } else slot.state = 'stopped';
    this.touch(slot);
  }

  /**
   * Graceful stop: drained in the spec and pushed, routers' in-flight calls waited for (bounded), then
   * SIGTERM and SIGKILL after the grace period. `remove` also takes it out of the spec and the records.
   */
  private async stop(slot: Slot, spec: EngineSpec | undefined, remove: boolean): Promise<void> {
    clearTimeout(slot.timer);
    const rt = spec?.runtime;
    const drainTimeoutMs = rt?.stop.drainTimeoutMs ?? 30_000;
    const graceMs = rt?.stop.graceMs ?? 10_000;
    const was = slot.state;
    slot.state = 'stopping';
    this.touch(slot);
    const started = Date.now();
    let inFlight = 0;
    if (slot.proc?.running && (was === 'running' || was === 'remote')) {
      await this.spec.drain(slot.engine, slot.id);
      await this.ctx.pushed(Math.min(drainTimeoutMs, 5_000));
      // A report made after the drain reached the routers must say nothing is in flight.
      const minWait = this.ctx.reportIntervalMs + 250;
      for (;;) {
        const waited = Date.now() - started;
        inFlight = this.ctx.inFlight(slot.engine, slot.id);
        if ((waited >= minWait && inFlight === 0) || waited >= drainTimeoutMs) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const proc = slot.proc;
    const exit = proc ? await proc.terminate(graceMs) : undefined;
    slot.proc = undefined;
    slot.state = 'stopped';
    this.ctx.events.record(
      'instance_stopped',
      slot.engine,
      `stopped after a ${Date.now() - started} ms drain`,
      slot.id,
      {
        drainMs: Date.now() - started,
        inFlightAtStop: inFlight,
        signal: exit?.signal ?? null,
      },
    );
    if (remove) {
      await this.spec.unlist(slot.engine, [slot.id]);
      this.slots.delete(slotKey(slot));
      this.touch(slot, true);
    } else this.touch(slot);
  }

  private async restart(slot: Slot, engine: string): Promise<void> {
    await this.stop(slot, this.ctx.engines.getNow(engine), false);
    slot.desired = 'running';
    slot.crashes = 0;
    slot.restarts++;
    await this.launch(slot);
  }

  /** Marks a slot's record for publication (batched per tick, fenced). */
  private touch(slot: Slot, removed = false): void {
    this.dirty.add(slotKey(slot));
    if (removed) this.removedKeys.add(slotKey(slot));
    if (this.publishing) return;
    this.publishing = true;
    setImmediate(() => void this.publish());
  }

  private readonly removedKeys = new Set<string>();

  private async publish(): Promise<void> {
    this.publishing = false;
    const fence = this.ctx.leader.fence;
    const keys = [...this.dirty];
    this.dirty.clear();
    const removed = new Set(this.removedKeys);
    this.removedKeys.clear();
    if (!fence) return;
    const fields = keys.map((k) => {
      const slot = this.slots.get(k);
      return [
        k,
        removed.has(k) || !slot ? undefined : slotRecord(slot, this.host, this.ctx.replicaId),
      ] as const;
    });
    try {
      await PROCESSES_NS.put(this.ctx.store, fields, fence);
    } catch (err) {
      this.ctx.logger.warn('could not record managed processes', { error: String(err) });
    }
  }
}

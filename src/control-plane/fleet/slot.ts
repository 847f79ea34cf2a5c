import type { EngineSpec } from '../../model/engine';
import { baselineVersion, desiredReplicas } from '../../model/runtime';
import type { ManagedProcess } from './managed-process';
import type { ProcessRecord } from './process-record';
import type { ProcessStat } from './process-usage';

export type SlotState = 'starting' | 'running' | 'backoff' | 'crash_loop' | 'stopping' | 'stopped' | 'remote';

/** One managed instance: its identity and port survive restarts; its process does not. */
export interface Slot {
  readonly engine: string;
  readonly id: string;
  port: number;
  host: string;
  version: string;
  hash: string;
  state: SlotState;
  desired: 'running' | 'stopped';
  proc?: ManagedProcess;
  crashes: number;
  restarts: number;
  startedAtMs: number;
  readyAtMs: number;
  lastExit?: ProcessRecord['lastExit'];
  nextStartAtMs: number;
  /** Transitions run one after another per slot; `pending` counts the queued ones. */
  chain: Promise<void>;
  pending: number;
  removing: boolean;
  timer?: NodeJS.Timeout;
  stat?: ProcessStat;
  statAtMs: number;
  cpu: number;
  rssBytes: number;
  message: string;
}

/** How many instances of each version the runtime asks for. */
export function versionGroups(spec: EngineSpec): Map<string, number> {
  const rt = spec.runtime!;
  const main = rt.version ?? spec.versions[0].name;
  const groups = new Map([[main, desiredReplicas(rt)]]);
  if (rt.canary && rt.canary.replicas > 0)
    groups.set(rt.canary.version, (groups.get(rt.canary.version) ?? 0) + rt.canary.replicas);
  if (rt.baseline && rt.baseline.replicas > 0) groups.set(baselineVersion(main), rt.baseline.replicas);
  return groups;
}

export function blankSlot(engine: string, id: string): Slot {
  return {
    engine,
    id,
    port: 0,
    host: '127.0.0.1',
    version: '',
    hash: '',
    state: 'starting',
    desired: 'running',
    crashes: 0,
    restarts: 0,
    startedAtMs: 0,
    readyAtMs: 0,
    nextStartAtMs: 0,
    chain: Promise.resolve(),
    pending: 0,
    removing: false,
    statAtMs: 0,
    cpu: 0,
    rssBytes: 0,
    message: '',
  };
}

export function slotKey(s: { engine: string; id: string }): string {
  return `${s.engine}/${s.id}`;
}

const REMOVE_ORDER: Record<SlotState, number> = {
  stopped: 0,
  crash_loop: 1,
  backoff: 2,
  starting: 3,
  stopping: 4,
  remote: 5,
  running: 6,
};

/** What scale-in weighs of a serving instance: the calls it holds, and the warm state it would lose. */
export interface SlotLoad {
  /** Calls in flight at it, as routers last reported. */
  readonly inFlight: number;
  /** Its share of answers from warm state (ORCA utilization `cache_hit_ratio`, 0..1; 0 unreported). */
  readonly warmth: number;
}

const IDLE: SlotLoad = { inFlight: 0, warmth: 0 };

/**
 * Scale-in takes what serves least first: stopped, crash-looping, waiting, starting. Among serving
 * instances, the one with the fewest calls in flight, then the least warm state (lowest cache hit share),
 * then the newest: the instance whose drain is shortest and whose loss costs the fleet least, not the
 * busy or the warm one (kubernetes#45509). Ring-hash sessions have no table to count: an instance's
 * calls stand for them.
 */
export function pickVictims(
  active: readonly Slot[],
  n: number,
  load: (slot: Slot) => SlotLoad = () => IDLE,
): Slot[] {
  const loads = new Map(active.map((s) => [s, load(s)]));
  return [...active]
    .sort(
      (a, b) =>
        REMOVE_ORDER[a.state] - REMOVE_ORDER[b.state] ||
        loads.get(a)!.inFlight - loads.get(b)!.inFlight ||
        loads.get(a)!.warmth - loads.get(b)!.warmth ||
        b.startedAtMs - a.startedAtMs,
    )
    .slice(0, n);
}

/** What every replica sees of a slot (the shared `processes` record). */
export function slotRecord(s: Slot, host: string, replica: string): ProcessRecord {
  const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);
  return {
    engine: s.engine,
    id: s.id,
    state: s.state,
    desired: s.desired,
    address: `${s.host}:${s.port}`,
    port: s.port,
    host,
    replica,
    pid: s.proc?.pid ?? 0,
    startTicks: s.proc?.startTicks ?? null,
    adopted: s.proc?.adopted ?? false,
    version: s.version,
    hash: s.hash,
    crashes: s.crashes,
    restarts: s.restarts,
    startedAt: iso(s.startedAtMs),
    readyAt: iso(s.readyAtMs),
    nextStartAt: s.state === 'backoff' ? iso(s.nextStartAtMs) : null,
    lastExit: s.lastExit ?? null,
    cpu: Math.round(s.cpu * 1000) / 1000,
    memoryBytes: s.rssBytes,
    message: s.message,
  };
}

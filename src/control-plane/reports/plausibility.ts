import type { EngineCalls, InstanceLoad } from '../../../gen/nerve/report/v1/report';
import type { EngineSpec } from '../../model/engine';
import type { IncomingReport } from '../kernel/events';

/** What a report may name: per engine, its instances' ids (from the spec this replica serves). */
export type KnownFleet = (engine: string) => ReadonlySet<string> | undefined;

export interface PlausibleReport {
  readonly report: IncomingReport;
  /** Lines left out, by why: an engine or instance it was never sent, impossible figures. */
  readonly refused: Readonly<Record<RefusalReason, number>>;
}

export type RefusalReason = 'unknown_engine' | 'unknown_instance' | 'impossible_figures';

/**
 * Keeps of a data plane's report only what it can know: engines it was sent and instances those list,
 * with figures that can be (whole, not negative, no more errors or answered calls than requests).
 * A router that reports anything else is mistaken or lying; either way, alerts, rollout analysis,
 * autoscaling and circuits must not act on it. Reports whose lines are all plausible are passed on as
 * they are (no copy on the report path).
 */
export function plausibleReport(r: IncomingReport, known: KnownFleet): PlausibleReport {
  let refused: Record<RefusalReason, number> | undefined;
  const refuse = (why: RefusalReason) => {
    refused ??= { unknown_engine: 0, unknown_instance: 0, impossible_figures: 0 };
    refused[why]++;
  };
  let loads: InstanceLoad[] | undefined;
  r.loads.forEach((l, i) => {
    const why = loadProblem(l, known);
    if (why === undefined) {
      loads?.push(l);
      return;
    }
    loads ??= r.loads.slice(0, i);
    refuse(why);
  });
  let engineCircuits = r.engineCircuits;
  for (const engine of Object.keys(r.engineCircuits))
    if (!known(engine)) {
      if (engineCircuits === r.engineCircuits) engineCircuits = { ...r.engineCircuits };
      delete (engineCircuits as Record<string, unknown>)[engine];
      refuse('unknown_engine');
    }
  let engineCalls: EngineCalls[] | undefined;
  r.engineCalls.forEach((c, i) => {
    const why = !known(c.engine)
      ? 'unknown_engine'
      : !wholeCount(c.calls) || !wholeCount(c.retries) || !wholeCount(c.retriesRefused)
        ? 'impossible_figures'
        : undefined;
    if (why === undefined) {
      engineCalls?.push(c);
      return;
    }
    engineCalls ??= r.engineCalls.slice(0, i);
    refuse(why);
  });
  let heldCalls = r.heldCalls;
  for (const [engine, n] of Object.entries(r.heldCalls ?? {}))
    if (!known(engine) || !wholeCount(n)) {
      if (heldCalls === r.heldCalls) heldCalls = { ...r.heldCalls };
      delete (heldCalls as Record<string, unknown>)[engine];
      refuse(known(engine) ? 'impossible_figures' : 'unknown_engine');
    }
  let dropped = r.dropped;
  for (const [engine, n] of Object.entries(r.dropped))
    if (!known(engine) || !wholeCount(n)) {
      if (dropped === r.dropped) dropped = { ...r.dropped };
      delete (dropped as Record<string, unknown>)[engine];
      refuse(known(engine) ? 'impossible_figures' : 'unknown_engine');
    }
  if (!refused) return { report: r, refused: NONE };
  return {
    report: {
      ...r,
      loads: loads ?? r.loads,
      engineCircuits,
      engineCalls: engineCalls ?? r.engineCalls,
      dropped,
    },
    refused,
  };
}

const NONE: Readonly<Record<RefusalReason, number>> = {
  unknown_engine: 0,
  unknown_instance: 0,
  impossible_figures: 0,
};

function loadProblem(l: InstanceLoad, known: KnownFleet): RefusalReason | undefined {
  const instances = known(l.engine);
  if (!instances) return 'unknown_engine';
  if (!instances.has(l.instanceId)) return 'unknown_instance';
  if (!wholeCount(l.requests) || !wholeCount(l.errors) || !wholeCount(l.inFlight) || l.errors > l.requests)
    return 'impossible_figures';
  return undefined;
}

function wholeCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/**
 * The engines and instances a replica serves, rebuilt only when its configuration version moved (so a
 * report costs a map lookup per line).
 */
export class KnownFleetIndex {
  private builtAt = -1;
  private byEngine = new Map<string, Set<string>>();

  constructor(
    private readonly version: () => number,
    private readonly engines: () => readonly EngineSpec[],
  ) {}

  readonly known: KnownFleet = (engine) => {
    if (this.builtAt !== this.version()) this.rebuild();
    return this.byEngine.get(engine);
  };

  private rebuild(): void {
    const next = new Map<string, Set<string>>();
    for (const e of this.engines()) next.set(e.name, new Set(e.instances.map((i) => i.id)));
    this.byEngine = next;
    this.builtAt = this.version();
  }
}

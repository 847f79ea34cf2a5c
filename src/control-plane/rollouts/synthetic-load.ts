import { callMessages } from '../../load/call-messages';
import { LoadRunner } from '../../load/load-runner';
import type { Rollout } from '../../model/rollout';
import type { SyntheticLoadSpec } from '../../model/rollout-input';
import { CallAccumulator } from '../calls/call-accumulator';

interface Run {
  /** What it was started for (addresses and spec): a change restarts it. */
  readonly key: string;
  readonly runners: LoadRunner[];
  readonly calls: CallAccumulator;
  readonly addresses: number;
}

/**
 * A rollout's own calls to its canary (`analysis.syntheticLoad`, Flagger's load tester built in): while
 * the rollout progresses, `nerve load`'s generator sends `rps` calls a second, open loop, split over the
 * canary's routable instances, each straight to the instance (not through routers: no breaker, no
 * balancer, nobody's traffic). Every call's status and latency join the canary's side at the next
 * check, as its routers' calls do; the evidence says how many were synthetic.
 */
export class SyntheticLoad {
  private readonly runs = new Map<string, Run>();

  /** Keeps the rollout's calls going to `addresses` (host:port), restarted when they or the spec change. */
  ensure(r: Rollout, spec: SyntheticLoadSpec, addresses: readonly string[]): void {
    const key = JSON.stringify([spec, [...addresses].sort()]);
    const run = this.runs.get(r.id);
    if (run?.key === key) return;
    const calls = run?.calls ?? new CallAccumulator();
    this.stop(r.id);
    if (addresses.length === 0) return;
    const messages = callMessages(spec.method, spec.operation, [spec.payload]);
    const runners = addresses.map((address) => {
      const colon = address.lastIndexOf(':');
      const runner = new LoadRunner({
        host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
        port: Number(address.slice(colon + 1)),
        engine: '',
        method: spec.method,
        messages,
        metadata: [['x-nerve-synthetic', 'true']],
        rps: spec.rps / addresses.length,
        durationMs: 86_400_000,
        connections: 1,
        timeoutMs: spec.timeoutMs,
        observe: (code, latencyMs) => calls.record(code, latencyMs),
      });
      void runner.run();
      return runner;
    });
    this.runs.set(r.id, { key, runners, calls, addresses: addresses.length });
  }

  /** The rollout's synthetic calls since last taken, and how many instances they went to. */
  take(id: string): { calls: CallAccumulator; instances: number } {
    const run = this.runs.get(id);
    if (!run) return { calls: new CallAccumulator(), instances: 0 };
    const calls = new CallAccumulator();
    calls.merge(run.calls);
    run.calls.reset();
    return { calls, instances: run.addresses };
  }

  stop(id: string): void {
    const run = this.runs.get(id);
    if (!run) return;
    this.runs.delete(id);
    for (const r of run.runners) r.stop();
  }

  /** Every run but these rollouts'. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of [...this.runs.keys()]) if (!ids.has(id)) this.stop(id);
  }
}

// A child process of `npm run bench:routing`: open-loop calls through a router, phase by phase.
// argv[2]: JSON {target, engine, phases: [{rate, ms}], deadlineMs}. Prints one line of JSON: per phase,
// calls sent, successes, errors by code, p50/p99 of successful calls (from the intended send time) and
// each instance's share of the successes.
import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';

interface Phase {
  readonly rate: number;
  readonly ms: number;
}

export interface PhaseResult {
  readonly rate: number;
  readonly sent: number;
  readonly ok: number;
  readonly errors: Record<string, number>;
  readonly p50: number;
  readonly p99: number;
  readonly shares: Record<string, number>;
  /** p99 of each instance's successful calls. */
  readonly p99By: Record<string, number>;
  readonly seconds: number;
}

const quantile = (xs: number[], q: number) =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function main(): Promise<void> {
  const { target, engine, phases, deadlineMs } = JSON.parse(process.argv[2]) as {
    target: string;
    engine: string;
    phases: Phase[];
    deadlineMs: number;
  };
  // Several channels, as many callers would have: one HTTP/2 connection is not a fleet's traffic.
  const clients = Array.from(
    { length: 4 },
    (_, i) => new EngineClient(target, grpc.credentials.createInsecure(), { 'grpc.channel_id': i } as object),
  );
  const md = new grpc.Metadata();
  md.set('x-nerve-engine', engine);
  const results: PhaseResult[] = [];
  const pending: Promise<void>[] = [];
  for (const phase of phases) {
    const latencies: number[] = [];
    const errors: Record<string, number> = {};
    const served: Record<string, number> = {};
    const byInstance: Record<string, number[]> = {};
    let sent = 0;
    const start = performance.now();
    for (let i = 0; ; i++) {
      const at = start + (i * 1000) / phase.rate;
      if (at - start >= phase.ms) break;
      const wait = at - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      sent++;
      pending.push(
        new Promise<void>((resolve) =>
          clients[i % clients.length].invoke(
            { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
            md,
            { deadline: Date.now() + deadlineMs },
            (err, res) => {
              if (err) errors[grpc.status[err.code]] = (errors[grpc.status[err.code]] ?? 0) + 1;
              else {
                latencies.push(performance.now() - at);
                const id = res!.payload.toString();
                served[id] = (served[id] ?? 0) + 1;
                (byInstance[id] ??= []).push(performance.now() - at);
              }
              resolve();
            },
          ),
        ),
      );
    }
    const seconds = phase.ms / 1000;
    results.push({
      rate: phase.rate,
      sent,
      get ok() {
        return latencies.length;
      },
      errors,
      get p50() {
        return quantile(latencies, 0.5);
      },
      get p99() {
        return quantile(latencies, 0.99);
      },
      shares: served,
      get p99By() {
        return Object.fromEntries(
          Object.entries(byInstance).map(([id, xs]) => [id, Math.round(quantile(xs, 0.99))]),
        );
      },
      seconds,
    } as PhaseResult);
  }
  await Promise.all(pending);
  const out = results.map((r) => ({ ...r, ok: r.ok, p50: r.p50, p99: r.p99, p99By: r.p99By }));
  process.stdout.write(JSON.stringify(out) + '\n');
  for (const c of clients) c.close();
}

void main();

// A child process of `npm run bench:routing`: engine instances with a known capacity and injected
// behaviour, on loopback. argv[2] is a JSON list of instances; it prints one line of JSON, the instances'
// addresses, then serves until killed. Each instance runs `workers` calls at once (a worker pool) and
// queues the rest in order, as a real engine would; its answer's payload is its id.
import * as grpc from '@grpc/grpc-js';
import { EngineService, type EngineServer, InvokeResponse } from '../../gen/nerve/engine/v1/engine';

export interface InstanceBehaviour {
  readonly id: string;
  readonly workers: number;
  /** Service time of one call once a worker takes it (±10 % uniform jitter). */
  readonly serviceMs: number;
  /** The first `coldCalls` calls take `coldServiceMs` instead (cold caches). */
  readonly coldCalls?: number;
  readonly coldServiceMs?: number;
  /** With this many calls in flight (running and queued), answers RESOURCE_EXHAUSTED at once. */
  readonly shedAbove?: number;
}

function serve(b: InstanceBehaviour): Promise<string> {
  let running = 0;
  let served = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    while (running < b.workers && queue.length > 0) {
      running++;
      queue.shift()!();
    }
  };
  const handlers: EngineServer = {
    invoke: (_call, callback) => {
      if (b.shedAbove !== undefined && running + queue.length >= b.shedAbove) {
        callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: `${b.id}: over ${b.shedAbove} in flight` });
        return;
      }
      queue.push(() => {
        const cold = b.coldCalls !== undefined && served < b.coldCalls;
        served++;
        const ms = (cold ? b.coldServiceMs! : b.serviceMs) * (0.9 + 0.2 * Math.random());
        setTimeout(() => {
          running--;
          const answer = InvokeResponse.fromPartial({ payload: Buffer.from(b.id) });
          callback(null, answer);
          next();
        }, ms);
      });
      next();
    },
    invokeStream: (call) => call.end(),
  };
  const server = new grpc.Server();
  server.addService(EngineService, handlers);
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(`127.0.0.1:${port}`),
    ),
  );
}

async function main(): Promise<void> {
  const instances = JSON.parse(process.argv[2]) as InstanceBehaviour[];
  const addresses = await Promise.all(instances.map(serve));
  process.stdout.write(JSON.stringify(addresses) + '\n');
}

void main();

import * as grpc from '@grpc/grpc-js';
import { AdminClient } from '../../gen/nerve/admin/v1/admin';
import type { DemoEngine } from './engine-server';

function call<Req, Res>(
  fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

/**
 * Joins an engine instance to its engine on a control plane (creating the engine with the default policy
 * when missing) and returns the function that removes it again.
 */
export async function registerEngine(
  engine: DemoEngine,
  controlPlane: string,
  advertised = engine.address,
): Promise<() => Promise<void>> {
  const client = new AdminClient(controlPlane, grpc.credentials.createInsecure());
  await call(client.addInstance.bind(client), {
    engine: engine.name,
    id: engine.id,
    address: advertised,
    version: engine.version,
    weight: 100,
    priority: 0,
    createEngine: true,
  });
  return async () => {
    try {
      await call(client.removeInstance.bind(client), { engine: engine.name, instanceId: engine.id });
    } finally {
      client.close();
    }
  };
}

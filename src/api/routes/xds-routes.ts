import type { Routes } from '../http/route-table';
import type { AdminService } from '../../control-plane/admin/admin-service';

/** Every connected data plane: node id, per type the version sent and ACKed, the last NACK and its error. */
export function xdsRoutes(r: Routes, admin: AdminService): void {
  r.get('/xds/clients', 'viewer', 'Connected data planes and their ACK state', (_req, res) => {
    const store = admin.views.store();
    res.json({
      // Which replica answers, whether it leads, and how far it is behind the store: a client's versions
      // are comparable across replicas (content digests), so two replicas' listings can be diffed.
      replica: admin.views.replica(),
      store: { state: store.state, reason: store.reason ?? null, version: store.version, lagMs: store.lagMs },
      clients: admin.views.xdsClients().map((c) => ({
        nodeId: c.nodeId,
        peer: c.peer,
        connectedAt: new Date(c.connectedAtMs).toISOString(),
        types: c.types.map((t) => ({
          typeUrl: t.typeUrl,
          wildcard: t.wildcard,
          subscribed: t.subscribed,
          sentVersion: t.sentVersion,
          ackedVersion: t.ackedVersion,
          inSync: t.inSync,
          responses: t.responses,
          lastNack: t.nack
            ? { version: t.nack.version, error: t.nack.error, at: new Date(t.nack.atMs).toISOString() }
            : null,
        })),
      })),
    });
  });
  r.get('/xds/bootstrap', 'viewer', 'A gRPC xDS bootstrap for this control plane', (req, res) => {
    const node = typeof req.query.node === 'string' ? req.query.node : 'nerve-client';
    res.json(admin.views.bootstrap(node, req.hostname));
  });
}

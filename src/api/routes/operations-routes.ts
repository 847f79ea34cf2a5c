import * as S from '../http/schemas';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { OperationsAdmin } from '../../control-plane/admin/operations-admin';
import { contextOf } from '../http/errors';
import type { Routes } from '../http/route-table';

/** Log levels, CPU profiles and heap snapshots (admin), feature flags: this replica's process. */
export function operationsRoutes(r: Routes, admin: AdminService): void {
  const ops = admin.operations;
  r.get(
    '/log-level',
    'viewer',
    { summary: "This replica's log level per component", response: S.logLevels },
    (_req, res) => {
      res.json({ levels: ops.logLevels() });
    },
  );
  r.put(
    '/log-level',
    'admin',
    {
      summary: 'Set the log level of one component, or of all (no component), until the process restarts',
      body: S.logLevelBody,
      response: S.logLevels,
    },
    (req, res) => {
      res.json({ levels: ops.setLogLevel(req.body, contextOf(req, res)) });
    },
  );
  r.get(
    '/features',
    'viewer',
    { summary: 'Feature flags as this process started', response: S.featureFlags },
    (_req, res) => {
      res.json({ features: ops.featureFlags() });
    },
  );
  r.post(
    '/debug/cpu-profile',
    'admin',
    {
      summary:
        'A V8 CPU profile of this replica over ?durationMs= (default 10000, at most 60000): a .cpuprofile',
      query: S.profileQuery,
      response: S.cpuProfile,
    },
    async (req, res) => {
      const ms = OperationsAdmin.profileMs(req.query.durationMs);
      const profile = await ops.cpuProfile(ms, contextOf(req, res));
      res
        .status(200)
        .type('application/json')
        .set('content-disposition', `attachment; filename="nerve-${stamp()}.cpuprofile"`)
        .send(profile);
    },
  );
  r.post(
    '/debug/heap-snapshot',
    'admin',
    {
      summary:
        'A V8 heap snapshot of this replica, streamed; ?confirm=true is required (the process pauses while it is taken)',
      query: S.snapshotQuery,
      response: S.heapSnapshot,
    },
    async (req, res) => {
      const ctx = contextOf(req, res);
      const confirm = req.query.confirm;
      if (confirm !== 'true') await ops.heapSnapshot(confirm, () => undefined, ctx); // throws: 400
      res
        .status(200)
        .type('application/json')
        .set('content-disposition', `attachment; filename="nerve-${stamp()}.heapsnapshot"`);
      // Headers go with the first chunk: a busy profiler is still a clean 409 before it.
      await ops.heapSnapshot(true, (chunk) => res.write(chunk), ctx);
      res.end();
    },
  );
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

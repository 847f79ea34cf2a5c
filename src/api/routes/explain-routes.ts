import * as S from '../http/schemas';
import type { Routes } from '../http/route-table';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { timeParam } from '../http/query';

/** Routing decisions explained: an engine's routing state at a past moment and what led to it. */
export function explainRoutes(r: Routes, admin: AdminService): void {
  r.get(
    '/explain/engines/:name',
    'viewer',
    {
      summary: 'An engine’s routing state at a past moment (?at=): each instance in or out and why',
      query: S.atQuery,
    },
    async (req, res) => {
      const at = timeParam(req.query as Record<string, unknown>, 'at') ?? Date.now();
      res.json(await admin.explain.at(req.params.name, at));
    },
  );
}

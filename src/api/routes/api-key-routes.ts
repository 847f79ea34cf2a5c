import * as S from '../http/schemas';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { contextOf } from '../http/errors';
import type { Routes } from '../http/route-table';

/** API keys (admin only, listing too: names and roles tell an attacker whom to aim at). */
export function apiKeyRoutes(r: Routes, admin: AdminService): void {
  r.get(
    '/api-keys',
    'admin',
    { summary: 'API keys (names, roles, hints; never secrets)', response: S.apiKeyList },
    (_req, res) => {
      res.json({ keys: admin.apiKeys.list() });
    },
  );
  r.post(
    '/api-keys',
    'admin',
    {
      summary: 'Create an API key: its secret is in this answer only',
      body: S.apiKeyBody,
      response: S.apiKeyCreated,
      status: 201,
    },
    async (req, res) => {
      res.status(201).json(await admin.apiKeys.create(req.body, contextOf(req, res)));
    },
  );
  r.delete('/api-keys/:name', 'admin', { summary: 'Revoke an API key', status: 204 }, async (req, res) => {
    await admin.apiKeys.revoke(req.params.name, contextOf(req, res));
    res.status(204).end();
  });
}

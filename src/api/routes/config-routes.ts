import * as S from '../http/schemas';
import { parseInput } from '../../control-plane/commands/parse-input';
import type { Routes } from '../http/route-table';
import { NerveError } from '../../model/errors';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { echo } from '../../model/echo';
import { contextOf } from '../http/errors';
import { ifMatch } from '../http/if-match';
import { flag } from '../http/query';

/** A whole-number query or body value, or a 400 naming it. */
function whole(name: string, raw: unknown, fallback?: number): number {
  if (raw === undefined && fallback !== undefined) return fallback;
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 0)
    throw new NerveError('INVALID_ARGUMENT', `${name} must be a whole number, got ${echo(String(raw), 20)}`);
  return n;
}

/** The versioned configuration: history, a version whole, diffs, rollback, export and import. */
export function configRoutes(r: Routes, admin: AdminService): void {
  r.get(
    '/config/history',
    'viewer',
    { summary: 'Configuration versions, newest first', query: S.configHistoryQuery, response: S.historyList },
    async (req, res) => {
      const before = req.query.before === undefined ? undefined : whole('before', req.query.before);
      res.json(await admin.config.history(whole('limit', req.query.limit, 100), before));
    },
  );
  r.get('/config/history/:version', 'admin', 'The whole configuration at a version', async (req, res) => {
    res.json(await admin.config.at(whole('version', req.params.version)));
  });
  r.get(
    '/config/diff',
    'admin',
    { summary: 'What changed between two versions', query: S.diffQuery },
    async (req, res) => {
      const newest = admin.views.store().version;
      const to = whole('to', req.query.to, newest);
      const from = whole('from', req.query.from, Math.max(0, to - 1));
      res.json(await admin.config.diff(from, to));
    },
  );
  r.post(
    '/config/rollback',
    'admin',
    { summary: 'Make an earlier version the newest', body: S.rollbackBody },
    async (req, res) => {
      const { version } = parseInput(S.rollbackBody, req.body, 'rollback');
      res.json(await admin.config.rollback(version, ifMatch(req), contextOf(req, res)));
    },
  );
  r.get('/config/export', 'admin', 'Export the whole configuration', (_req, res) => {
    const doc = admin.config.export();
    res.set('content-disposition', `attachment; filename="nerve-config-v${doc.version}.json"`).json(doc);
  });
  r.post(
    '/config/import',
    'admin',
    { summary: 'Import a configuration (?dryRun=true only validates)', query: S.dryRunQuery },
    async (req, res) => {
      const dryRun = flag('dryRun', req.query.dryRun);
      res.json(await admin.config.import(req.body, dryRun, ifMatch(req), contextOf(req, res)));
    },
  );
  r.post(
    '/config/store/reseed',
    'admin',
    "Write this replica's whole configuration into the store as a new generation (after the store lost its data)",
    async (req, res) => {
      res.json(await admin.config.reseed(contextOf(req, res)));
    },
  );
}

import { logLevelSchema } from '../../control-plane/admin/operations-admin';
import { z } from 'zod';
import { createApiKeySchema } from '../../control-plane/admin/api-key-admin';
import { registerSchema, scaleSchema } from '../../control-plane/fleet/fleet-admin';
import { alertRuleSchema } from '../../model/alerts/rule';
import { channelSchema } from '../../model/alerts/channel';
import { silenceSchema } from '../../model/alerts/silence-schema';
import { rolloutInputSchema } from '../../model/rollout-input';
import { ALL_ROLES } from '../../model/security/roles';
import { engineInputSchema } from '../../model/validate';

/*
 * The REST API's shapes, as the OpenAPI document gives them. Request bodies are the schemas the
 * operations validate with (one schema per operation, shared with gRPC through AdminService); responses
 * are described loosely (`looseObject`: fields may be added) but every field listed is
 * checked by the contract test against what the API answers.
 */

export const errorSchema = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.array(z.string()),
    requestId: z.string(),
  }),
});

const instanceView = z.looseObject({
  id: z.string(),
  address: z.string(),
  version: z.string(),
  weight: z.number(),
  health: z.enum(['healthy', 'unhealthy', 'draining', 'unknown']),
  priority: z.number(),
});

export const engineView = z.looseObject({
  name: z.string(),
  versions: z.array(z.strictObject({ name: z.string(), weight: z.number() })),
  instances: z.array(instanceView),
  policy: z.looseObject({}),
  revision: z.number().int(),
});

export const engineList = z.strictObject({ engines: z.array(engineView), nextCursor: z.string().nullable() });
export const oneEngine = z.strictObject({ engine: engineView });
export const enginePatch = z.record(z.string(), z.unknown()).describe('RFC 7386 merge patch of the spec');
export const engineBody = engineInputSchema;

export const batchBody = z.strictObject({
  operations: z
    .array(
      z.strictObject({
        op: z.enum(['put', 'patch', 'delete']),
        engine: z.string(),
        spec: z.unknown().optional(),
        revision: z.number().int().optional(),
      }),
    )
    .min(1),
});
export const batchResult = z.strictObject({
  version: z.number().int(),
  engines: z.array(z.strictObject({ name: z.string(), revision: z.number().int(), deleted: z.boolean() })),
});

export const scaleBody = scaleSchema;
export const rollbackBody = z.strictObject({ version: z.number().int().min(1) });
export const pinBody = z.strictObject({ weight: z.number().int().min(0).max(1_000_000) });
export const leaseBody = registerSchema;

export const healthSummary = z.looseObject({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  engines: z.looseObject({ total: z.number() }),
  uptimeSeconds: z.number(),
});

export const historyList = z.looseObject({
  versions: z.array(
    z.looseObject({ version: z.number().int(), at: z.string(), actor: z.string(), summary: z.string() }),
  ),
});

export const apiKeyView = z.strictObject({
  name: z.string(),
  role: z.enum(ALL_ROLES),
  hint: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  revoked: z
    .strictObject({ name: z.string(), revokedAt: z.string(), revokedBy: z.string() })
    .optional()
    .describe('present when a revoked key’s entry came back (rollback, import): it stays refused'),
});
export const apiKeyCreated = apiKeyView.extend({ key: z.string().describe('the secret: shown this once') });
export const apiKeyList = z.strictObject({ keys: z.array(apiKeyView) });
export const apiKeyBody = createApiKeySchema;

export const alertRuleBody = alertRuleSchema;
export const channelBody = channelSchema;
export const silenceBody = silenceSchema;
export const rolloutBody = rolloutInputSchema;

const text = z.string();
export const listQuery = z.strictObject({
  limit: text.optional().describe('1 to 1000 (default 100)'),
  cursor: text.optional().describe('nextCursor of the previous page'),
});
export const alertsQuery = z.strictObject({
  state: z.enum(['firing', 'acknowledged', 'resolved']).optional(),
  severity: z.enum(['info', 'warning', 'error', 'critical']).optional(),
  engine: text.optional(),
});
export const historyQuery = z.strictObject({
  engine: text.optional(),
  instance: text.optional(),
  metric: text.optional(),
  from: text.optional().describe('RFC 3339 or Unix ms'),
  to: text.optional().describe('RFC 3339 or Unix ms'),
  stepMs: text.optional(),
});
export const configHistoryQuery = z.strictObject({ limit: text.optional(), before: text.optional() });
export const diffQuery = z.strictObject({ from: text.optional(), to: text.optional() });
export const sinceQuery = z.strictObject({ since: text.optional().describe('RFC 3339 or Unix ms') });
export const atQuery = z.strictObject({
  at: text.optional().describe('RFC 3339, Unix ms, or a duration back from now (15m); default now'),
});
export const dryRunQuery = z.strictObject({ dryRun: z.enum(['true', 'false']).optional() });
export const alertingConfigQuery = z.strictObject({ format: z.enum(['alertmanager']).optional() });
export const forceQuery = z.strictObject({
  force: z.enum(['true', 'false']).optional().describe('scale over the autoscaler, held for its cooldown'),
});
export const eventsQuery = z.strictObject({
  topics: text.describe('comma list: metrics, health, events, alerts, circuits, rollouts'),
  engines: text.optional(),
  since: text.optional().describe('resume after this event id (or Last-Event-ID)'),
  access_token: text.optional().describe('a token, for browsers that cannot set headers'),
});
export const logsQuery = z.strictObject({
  tail: text.optional().describe('lines, default 100'),
  stream: z.enum(['stdout', 'stderr']).optional(),
});

export const logLevels = z.strictObject({ levels: z.record(z.string(), z.string()) });
export const logLevelBody = logLevelSchema;
export const featureFlags = z.strictObject({ features: z.record(z.string(), z.boolean()) });
export const profileQuery = z.strictObject({ durationMs: z.string().optional() });
export const snapshotQuery = z.strictObject({ confirm: z.string().optional() });
/** V8's .cpuprofile (Chrome DevTools' Profile), its top level. */
export const cpuProfile = z.looseObject({
  nodes: z.array(z.looseObject({ id: z.number(), callFrame: z.looseObject({ functionName: z.string() }) })),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
/** V8's .heapsnapshot, its top level. */
export const heapSnapshot = z.looseObject({
  snapshot: z.looseObject({ meta: z.looseObject({}) }),
  nodes: z.array(z.number()),
});

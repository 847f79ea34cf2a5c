import { z } from 'zod';
import { isHostPort } from './address';
import type { EngineSpec } from './engine';
import { defaultPolicy, RETRYABLE_CODES, STRATEGIES } from './policy';
import { baselineVersion, runtimeSchema } from './runtime';
import { adaptiveWeightsSchema } from './adaptive-weights';
import { registrationSchema } from './registration-policy';

export { isHostPort };

/** Errors as values: config and API input are validated without throwing. */
export type Result<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
const SERVICE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

export const name = z
  .string()
  .regex(NAME, 'must be 1-63 lowercase letters, digits, ".", "_" or "-", starting and ending alphanumeric');
const count = z.number().int().min(0);

export const addressSchema = z.string().refine(isHostPort, 'must be host:port with a port from 1 to 65535');

const retrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).optional(),
  initialBackoffMs: count.optional(),
  maxBackoffMs: count.optional(),
  backoffMultiplier: z.number().min(1).optional(),
  retryableCodes: z.array(z.enum(RETRYABLE_CODES)).optional(),
  perAttemptTimeoutMs: count.optional(),
  budgetPercent: z.number().min(0).max(100).optional(),
  minRetriesPerSecond: z.number().min(0).max(1_000_000).optional(),
});
const breakerSchema = z.strictObject({
  failureRateThreshold: z.number().min(0).max(100).optional(),
  minimumCalls: count.optional(),
  windowSize: z.number().int().min(1).optional(),
  openMs: count.optional(),
  halfOpenPermits: z.number().int().min(1).optional(),
  slowCallMs: count.optional(),
  maxRequests: count.optional(),
  maxPending: count.optional(),
  windowMs: count.optional(),
  slowCallRateThreshold: z.number().min(0).max(100).optional(),
  maxOpenMs: count.optional(),
  engineFailureRateThreshold: z.number().min(0).max(100).optional(),
});
const outlierSchema = z.strictObject({
  consecutiveErrors: count.optional(),
  intervalMs: z.number().int().min(100).optional(),
  baseEjectionMs: z.number().int().min(1).optional(),
  maxEjectionMs: z.number().int().min(1).optional(),
  maxEjectionPercent: count.max(100).optional(),
  successRateMinimumHosts: count.optional(),
  successRateRequestVolume: z.number().int().min(1).optional(),
  successRateStdevFactor: z.number().min(0).optional(),
});
const METHOD = /^(\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*|[A-Za-z_][\w.]*\/\*)$/;
const hedgingSchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(5).optional(),
  delayMs: count.optional(),
  nonFatalCodes: z.array(z.enum(RETRYABLE_CODES)).optional(),
  methods: z.array(z.string().regex(METHOD, 'must be "/pkg.Service/Method" or "pkg.Service/*"')).optional(),
});
/** A degraded response in config: the payload as text or base64, the raw message as base64. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const degradedSchema = z
  .strictObject({
    payload: z.string().optional(),
    payloadBase64: z.string().regex(BASE64, 'must be base64').optional(),
    messageBase64: z.string().regex(BASE64, 'must be base64').optional(),
  })
  .refine((d) => d.payload === undefined || d.payloadBase64 === undefined, {
    message: 'set payload or payloadBase64, not both',
  });
const healthCheckSchema = z.strictObject({
  intervalMs: z.number().int().min(10).optional(),
  timeoutMs: z.number().int().min(1).optional(),
  healthyThreshold: z.number().int().min(1).optional(),
  unhealthyThreshold: z.number().int().min(1).optional(),
});
const rateLimitSchema = z.strictObject({
  requestsPerSecond: z.number().min(0).optional(),
  burst: count.optional(),
  queueTimeoutMs: z.number().int().min(1).optional(),
});
/** Envoy's slow start defaults: linear (aggression 1), at least 10 % of the weight. */
const slowStartSchema = z.strictObject({
  windowMs: z.number().int().min(1).max(3_600_000),
  aggression: z.number().min(0.1).max(10).default(1),
  minWeightPercent: z.number().min(0).max(100).default(10),
});
/** Envoy's adaptive concurrency defaults, but a 100 ms update interval made explicit. */
const adaptiveConcurrencySchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    minLimit: z.number().int().min(1).max(100_000).default(3),
    maxLimit: z.number().int().min(1).max(100_000).default(1_000),
    updateIntervalMs: z.number().int().min(10).max(60_000).default(100),
    minRttIntervalMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    minRttRequests: z.number().int().min(1).max(100_000).default(50),
    minRttConcurrency: z.number().int().min(1).max(1_000).default(3),
    bufferPercent: z.number().min(0).max(1_000).default(25),
    samplePercentile: z.number().min(1).max(100).default(50),
    jitterPercent: z.number().min(0).max(100).default(10),
  })
  .refine((a) => a.minLimit <= a.maxLimit, { path: ['minLimit'], message: 'must not exceed maxLimit' });
const FULL_METHOD = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;
/** `cache`: off unless listed; bounds so a cache can never take the router's memory. */
const ENGINE_INVOKE = '/nerve.engine.v1.Engine/Invoke';
const cacheSchema = z
  .strictObject({
    /** Absent with `operations`: the engine contract's Invoke, which operations belong to. */
    methods: z
      .array(
        z.string().regex(FULL_METHOD, 'must be a full method path like "/nerve.engine.v1.Engine/Invoke"'),
      )
      .min(1)
      .optional(),
    operations: z.array(z.string().min(1).max(256)).default([]),
    ttlMs: z.number().int().min(1).max(86_400_000).default(60_000),
    maxEntries: z.number().int().min(1).max(10_000_000).default(10_000),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 ** 3)
      .default(64 * 1024 ** 2),
    keyMetadata: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'must be a lowercase header name'))
      .default([]),
  })
  .refine((c) => c.methods !== undefined || c.operations.length > 0, {
    path: ['methods'],
    message: 'list the methods to cache, or operations of Engine/Invoke',
  })
  .transform((c) => ({ ...c, methods: c.methods ?? [ENGINE_INVOKE] }));
const policySchema = z.strictObject({
  strategy: z
    .enum(STRATEGIES, {
      error: (i) => `unknown strategy ${JSON.stringify(i.input)}; known: ${STRATEGIES.join(', ')}`,
    })
    .optional(),
  timeoutMs: z.number().int().min(1).optional(),
  retry: retrySchema.optional(),
  breaker: breakerSchema.optional(),
  fallbackEngines: z.array(name).optional(),
  healthCheck: healthCheckSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
  panicThreshold: z.number().min(0).max(100).optional(),
  outlier: outlierSchema.optional(),
  hedging: hedgingSchema.optional(),
  degraded: degradedSchema.optional(),
  cache: cacheSchema.optional(),
  upstreamTls: z.boolean().optional(),
  slowStart: slowStartSchema.optional(),
  adaptiveConcurrency: adaptiveConcurrencySchema.optional(),
});

const instanceSchema = z.strictObject({
  id: name,
  address: addressSchema,
  version: z.string().min(1).optional(),
  weight: count.max(1_000_000).default(100),
  priority: count.max(100).default(0),
  draining: z.boolean().default(false),
});

export const engineInputSchema = z
  .strictObject({
    name,
    namespace: name.optional(),
    versions: z
      .array(z.strictObject({ name: z.string().min(1), weight: count.max(1_000_000) }))
      .min(1)
      .default([{ name: 'v1', weight: 100 }]),
    instances: z.array(instanceSchema).default([]),
    policy: policySchema.default({}),
    services: z
      .array(z.string().regex(SERVICE, 'must be a fully qualified service like acme.pricing.v1.Pricing'))
      .default([]),
    runtime: runtimeSchema.optional(),
    adaptiveWeights: adaptiveWeightsSchema.optional(),
    registration: registrationSchema.optional(),
  })
  .superRefine((e, ctx) => {
    const versions = new Set<string>();
    e.versions.forEach((v, i) => {
      if (versions.has(v.name))
        ctx.addIssue({
          code: 'custom',
          path: ['versions', i, 'name'],
          message: `duplicate version "${v.name}"`,
        });
      versions.add(v.name);
    });
    if (e.versions.every((v) => v.weight === 0))
      ctx.addIssue({
        code: 'custom',
        path: ['versions'],
        message: 'at least one version needs a weight above 0',
      });
    const ids = new Set<string>();
    e.instances.forEach((inst, i) => {
      if (ids.has(inst.id))
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'id'],
          message: `duplicate instance id "${inst.id}"`,
        });
      ids.add(inst.id);
      if (inst.version !== undefined && !versions.has(inst.version)) {
        ctx.addIssue({
          code: 'custom',
          path: ['instances', i, 'version'],
          message: `unknown version "${inst.version}" (declared: ${[...versions].join(', ')})`,
        });
      }
    });
    if (e.runtime?.version !== undefined && !versions.has(e.runtime.version))
      ctx.addIssue({
        code: 'custom',
        path: ['runtime', 'version'],
        message: `unknown version "${e.runtime.version}" (declared: ${[...versions].join(', ')})`,
      });
    if (e.runtime?.canary !== undefined && !versions.has(e.runtime.canary.version))
      ctx.addIssue({
        code: 'custom',
        path: ['runtime', 'canary', 'version'],
        message: `unknown version "${e.runtime.canary.version}" (declared: ${[...versions].join(', ')})`,
      });
    const baselineLabel = baselineVersion(e.runtime?.version ?? e.versions[0]?.name ?? '');
    if (e.runtime?.baseline !== undefined && !versions.has(baselineLabel))
      ctx.addIssue({
        code: 'custom',
        path: ['runtime', 'baseline'],
        message: `a baseline runs as version "${baselineLabel}": declare it in versions`,
      });
    if (e.policy.fallbackEngines?.includes(e.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['policy', 'fallbackEngines'],
        message: 'an engine cannot be its own fallback',
      });
    }
  });

export type EngineInput = z.input<typeof engineInputSchema>;

/** Renders zod issues as `path: message` lines, the path in the user's own terms (`instances[1].address`). */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string[] {
  return issues.map((issue) => {
    let path = prefix;
    for (const key of issue.path) {
      path += typeof key === 'number' ? `[${key}]` : path === '' ? String(key) : `.${String(key)}`;
    }
    return path === '' ? issue.message : `${path}: ${issue.message}`;
  });
}

/** Validates engine input (YAML or API) into a complete spec, defaults filled in. */
export function parseEngineSpec(input: unknown, prefix = ''): Result<EngineSpec> {
  const parsed = engineInputSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: formatIssues(parsed.error.issues, prefix) };
  const e = parsed.data;
  const base = defaultPolicy();
  const p = e.policy;
  const spec: EngineSpec = {
    name: e.name,
    ...(e.namespace !== undefined && { namespace: e.namespace }),
    versions: e.versions,
    instances: e.instances.map((i) => ({ ...i, version: i.version ?? e.versions[0].name })),
    policy: {
      strategy: p.strategy ?? base.strategy,
      timeoutMs: p.timeoutMs ?? base.timeoutMs,
      retry: { ...base.retry!, ...p.retry },
      breaker: { ...base.breaker!, ...p.breaker },
      fallbackEngines: p.fallbackEngines ?? base.fallbackEngines,
      healthCheck: { ...base.healthCheck!, ...p.healthCheck },
      rateLimit: { ...base.rateLimit!, ...p.rateLimit },
      panicThreshold: p.panicThreshold ?? base.panicThreshold,
      outlier: { ...base.outlier!, ...p.outlier },
      hedging: { ...base.hedging!, ...p.hedging },
      degraded: p.degraded && degradedResponse(p.degraded),
      cache: p.cache,
      upstreamTls: p.upstreamTls ?? base.upstreamTls,
      slowStart: p.slowStart,
      adaptiveConcurrency: p.adaptiveConcurrency,
    },
    services: e.services,
    ...(e.runtime !== undefined && { runtime: e.runtime }),
    ...(e.adaptiveWeights !== undefined && { adaptiveWeights: e.adaptiveWeights }),
    ...(e.registration !== undefined && { registration: e.registration }),
    revision: 0,
  };
  return { ok: true, value: spec };
}

function degradedResponse(d: { payload?: string; payloadBase64?: string; messageBase64?: string }) {
  return {
    enabled: true,
    payload:
      d.payloadBase64 !== undefined
        ? Buffer.from(d.payloadBase64, 'base64')
        : Buffer.from(d.payload ?? '', 'utf8'),
    message: d.messageBase64 === undefined ? undefined : Buffer.from(d.messageBase64, 'base64'),
  };
}

import type { JsonValue } from './config';
import type { EngineSpec } from './engine';
import { parseEngineSpec, type Result } from './validate';

/** The config kind engine specs are stored under. */
export const ENGINE_KIND = 'engines';

/**
 * An engine spec in its input form (what a config file or `POST /engines` takes): stored, exported and
 * diffed as this JSON, and parsed back by the same schema, so `fromDocument(toDocument(s))` equals s.
 */
export function toDocument(spec: EngineSpec): JsonValue {
  const { degraded, upstreamTls, ...policy } = spec.policy;
  const doc = {
    name: spec.name,
    ...(spec.namespace !== undefined && { namespace: spec.namespace }),
    versions: spec.versions.map((v) => ({ name: v.name, weight: v.weight })),
    instances: spec.instances.map((i) => ({
      id: i.id,
      address: i.address,
      version: i.version,
      weight: i.weight,
      priority: i.priority,
      draining: i.draining,
    })),
    policy: {
      ...policy,
      ...(upstreamTls && { upstreamTls }),
      ...(degraded && {
        degraded: {
          payloadBase64: Buffer.from(degraded.payload).toString('base64'),
          ...(degraded.message && { messageBase64: Buffer.from(degraded.message).toString('base64') }),
        },
      }),
    },
    services: [...spec.services],
    ...(spec.runtime !== undefined && { runtime: spec.runtime }),
    ...(spec.adaptiveWeights !== undefined && { adaptiveWeights: spec.adaptiveWeights }),
    ...(spec.registration !== undefined && { registration: spec.registration }),
  };
  return JSON.parse(JSON.stringify(doc)) as JsonValue;
}

export function fromDocument(doc: JsonValue, revision: number, prefix = ''): Result<EngineSpec> {
  const parsed = parseEngineSpec(doc, prefix);
  return parsed.ok ? { ok: true, value: { ...parsed.value, revision } } : parsed;
}

/** RFC 7386 JSON merge patch: objects merge, null removes, anything else replaces. */
/** Deeper than any document Nerve stores: a patch nested further is refused, not recursed into. */
export const MAX_PATCH_DEPTH = 32;

/** A merge patch nested past MAX_PATCH_DEPTH (a bad request, not a server fault). */
export class PatchTooDeepError extends Error {
  constructor() {
    super(`a merge patch may nest at most ${MAX_PATCH_DEPTH} levels`);
  }
}

export function mergePatch(target: JsonValue | undefined, patch: JsonValue, depth = 0): JsonValue {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  if (depth >= MAX_PATCH_DEPTH) throw new PatchTooDeepError();
  const base: { [k: string]: JsonValue } =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value, depth + 1);
  }
  return base;
}

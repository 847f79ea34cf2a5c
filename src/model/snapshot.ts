import { createHash } from 'node:crypto';

/** One encoded resource. `version` is a digest of `body`, so equal content always has equal versions. */
export interface Resource {
  readonly name: string;
  readonly version: string;
  readonly body: Uint8Array;
}

export interface TypeSnapshot {
  /**
   * A digest of the type's resource names and versions: it changes exactly when some resource was
   * added, changed or removed, and every replica serving the same content serves the same version.
   */
  readonly version: string;
  readonly resources: ReadonlyMap<string, Resource>;
  /** Each resource goes out wrapped with this time to live, kept alive by heartbeats (xDS resource TTL). */
  readonly ttlMs?: number;
}

/** An immutable, versioned view of every resource the control plane serves, keyed by type URL. */
export interface Snapshot {
  readonly serial: number;
  readonly types: ReadonlyMap<string, TypeSnapshot>;
  /**
   * What clients declaring `xds.config.supports-resource-ttl` are served instead, type by type (base
   * clusters, and overrides with a TTL); types absent here are served from `types`.
   */
  readonly ttlTypes?: ReadonlyMap<string, TypeSnapshot>;
}

export const EMPTY_SNAPSHOT: Snapshot = { serial: 0, types: new Map() };

/** The type as a client is served it: from the TTL variant when it supports resource TTLs. */
export function servedType(
  snapshot: Snapshot | undefined,
  typeUrl: string,
  ttl: boolean,
): TypeSnapshot | undefined {
  return (ttl ? snapshot?.ttlTypes?.get(typeUrl) : undefined) ?? snapshot?.types.get(typeUrl);
}

/** The TTL variant's content, and which of its types carry a TTL. */
export interface TtlContent {
  readonly content: ReadonlyMap<string, readonly ResourceInput[]>;
  readonly ttlMs: ReadonlyMap<string, number>;
}

export interface ResourceInput {
  readonly name: string;
  readonly body: Uint8Array;
  /** Resources this one names (a cluster its EDS assignment, a listener its route configuration). */
  readonly references?: readonly { readonly typeUrl: string; readonly name: string }[];
}

export function digest(body: Uint8Array): string {
  return createHash('sha256').update(body).digest('base64url').slice(0, 16);
}

/** Content-derived: names sorted, so the order resources were built in does not matter. */
function typeVersion(resources: ReadonlyMap<string, Resource>): string {
  const hash = createHash('sha256');
  for (const name of [...resources.keys()].sort()) hash.update(`${name}\0${resources.get(name)!.version}\0`);
  return hash.digest('base64url').slice(0, 16);
}

/**
 * The references between resources that must hold before a snapshot is served: every EDS name a
 * cluster uses and every RDS name a listener uses exists. Returns what is missing (empty: consistent).
 */
export function danglingReferences(content: ReadonlyMap<string, readonly ResourceInput[]>): string[] {
  const names = new Map<string, Set<string>>();
  for (const [typeUrl, inputs] of content) names.set(typeUrl, new Set(inputs.map((i) => i.name)));
  const missing: string[] = [];
  for (const [typeUrl, inputs] of content)
    for (const input of inputs)
      for (const ref of input.references ?? [])
        if (!names.get(ref.typeUrl)?.has(ref.name))
          missing.push(
            `${typeUrl.slice(typeUrl.lastIndexOf('.') + 1)} "${input.name}" names ${ref.typeUrl.slice(ref.typeUrl.lastIndexOf('.') + 1)} "${ref.name}", which does not exist`,
          );
  return missing;
}

function sameResources(a: ReadonlyMap<string, Resource>, b: ReadonlyMap<string, Resource>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, r] of a) if (b.get(name)?.version !== r.version) return false;
  return true;
}

/**
 * Builds the snapshot that follows `prev` with the given content (every type, complete). Types whose
 * resources did not change keep their version and their objects; when nothing changed at all `prev`
 * itself is returned, so callers can detect "no change" by identity and push nothing.
 */
export function nextSnapshot(
  prev: Snapshot,
  content: ReadonlyMap<string, readonly ResourceInput[]>,
  ttl?: TtlContent,
): Snapshot {
  const main = nextTypes(prev.types, content, new Map());
  const variant = ttl && nextTypes(prev.ttlTypes ?? new Map(), ttl.content, ttl.ttlMs);
  const changed = main.changed || (variant?.changed ?? false) || (!ttl && prev.ttlTypes !== undefined);
  if (!changed) return prev;
  return { serial: prev.serial + 1, types: main.types, ...(variant && { ttlTypes: variant.types }) };
}

function nextTypes(
  prev: ReadonlyMap<string, TypeSnapshot>,
  content: ReadonlyMap<string, readonly ResourceInput[]>,
  ttlMs: ReadonlyMap<string, number>,
): { types: Map<string, TypeSnapshot>; changed: boolean } {
  const types = new Map<string, TypeSnapshot>();
  let changed = false;
  for (const [typeUrl, inputs] of content) {
    const resources = new Map<string, Resource>();
    for (const input of inputs) {
      if (resources.has(input.name))
        throw new Error(`duplicate resource name "${input.name}" for ${typeUrl}`);
      resources.set(input.name, { name: input.name, version: digest(input.body), body: input.body });
    }
    const old = prev.get(typeUrl);
    const ttl = ttlMs.get(typeUrl);
    if (old && old.ttlMs === ttl && sameResources(old.resources, resources)) {
      types.set(typeUrl, old);
    } else {
      types.set(typeUrl, {
        version: typeVersion(resources),
        resources,
        ...(ttl !== undefined && { ttlMs: ttl }),
      });
      changed = true;
    }
  }
  for (const typeUrl of prev.keys()) if (!content.has(typeUrl)) changed = true;
  return { types, changed };
}

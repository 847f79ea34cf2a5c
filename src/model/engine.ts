import type { RegistrationPolicy } from './registration-policy';
import type { EnginePolicy } from '../../gen/nerve/discovery/v1/policy';
import type { RuntimeSpec } from './runtime';
import type { AdaptiveWeights } from './adaptive-weights';

export type { EnginePolicy };

/** A version of an engine and its relative share of traffic. */
export interface VersionSpec {
  readonly name: string;
  readonly weight: number;
}

/** One running instance of an engine, as configured (health is tracked separately). */
export interface InstanceSpec {
  readonly id: string;
  /** host:port of its gRPC server. */
  readonly address: string;
  readonly version: string;
  /** Relative weight within its version; 0 takes it out of rotation. */
  readonly weight: number;
  /** 0 is the preferred tier. */
  readonly priority: number;
  /** Set by an operator: no new calls, existing ones finish. */
  readonly draining: boolean;
}

/** Everything configured about one engine. Immutable: changes produce a new spec with a higher revision. */
export interface EngineSpec {
  readonly name: string;
  /**
   * The namespace it belongs to (absent: `default`). Live-feed subscriptions name the namespaces they
   * want and hear nothing of others.
   */
  readonly namespace?: string;
  readonly versions: readonly VersionSpec[];
  readonly instances: readonly InstanceSpec[];
  readonly policy: EnginePolicy;
  /** Fully qualified gRPC services the router forwards to this engine besides the engine contract. */
  readonly services: readonly string[];
  /** How its instances run (absent: `static`, managed elsewhere). */
  readonly runtime?: RuntimeSpec;
  /** Closed-loop weights computed from live load (absent: configured weights only). */
  readonly adaptiveWeights?: AdaptiveWeights;
  /** What self-registering instances may do in this engine (absent: DEFAULT_REGISTRATION). */
  readonly registration?: RegistrationPolicy;
  /** Store revision; 0 before the spec was first stored. */
  readonly revision: number;
}

/** Health as routers and operators see it. */
export type HealthState = 'healthy' | 'unhealthy' | 'draining' | 'unknown';

export function findInstance(spec: EngineSpec, id: string): InstanceSpec | undefined {
  return spec.instances.find((i) => i.id === id);
}

export function withInstances(spec: EngineSpec, instances: readonly InstanceSpec[]): EngineSpec {
  return { ...spec, instances };
}

/** Returns a copy of spec with one instance replaced through fn; undefined when the instance is unknown. */
export function updateInstance(
  spec: EngineSpec,
  id: string,
  fn: (i: InstanceSpec) => InstanceSpec,
): EngineSpec | undefined {
  const index = spec.instances.findIndex((i) => i.id === id);
  if (index < 0) return undefined;
  const instances = spec.instances.slice();
  instances[index] = fn(instances[index]);
  return withInstances(spec, instances);
}

export const DEFAULT_NAMESPACE = 'default';

export function namespaceOf(spec: { readonly namespace?: string }): string {
  return spec.namespace ?? DEFAULT_NAMESPACE;
}

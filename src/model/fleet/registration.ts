import type { EngineSpec } from '../engine';
import type { Role } from '../security/roles';
import { DEFAULT_REGISTRATION } from '../registration-policy';

/** Who registers: the authenticated identity and its role (undefined: authentication off). */
export interface Registrant {
  readonly name: string;
  readonly role: Role | undefined;
}

export interface RegistrationRequest {
  readonly engine: string;
  readonly id: string;
  readonly address: string;
  readonly weight?: number;
  readonly createEngine?: boolean;
}

/** What the control plane knows of an instance id already in the engine. */
export interface ExistingInstance {
  readonly address: string;
  /** Whose registration listed it; undefined: an admin configured it (no lease). */
  readonly owner: string | undefined;
  /** Set when an admin took it out: it is not re-added by a registration or a heartbeat. */
  readonly removedBy?: string;
}

/**
 * Why a registration is refused, or undefined when it may go ahead. The rules: an admin (or anyone with
 * authentication off) may do anything; any other caller registers only its own instances (an id it
 * registered before, or a new one), within the engine's `registration` limits, into an engine that
 * exists, never re-pointing an instance an admin configured, never bringing back one an admin removed.
 */
export function registrationRefusal(
  who: Registrant,
  request: RegistrationRequest,
  engine: EngineSpec | undefined,
  existing: ExistingInstance | undefined,
  registeredCount: number,
): { code: 'PERMISSION_DENIED' | 'FAILED_PRECONDITION' | 'INVALID_ARGUMENT'; message: string } | undefined {
  if (who.role === undefined || who.role === 'admin') return undefined;
  const name = JSON.stringify(who.name);
  if (!engine)
    return request.createEngine
      ? {
          code: 'PERMISSION_DENIED',
          message: `creating engine ${request.engine} by registration needs role admin; ${name} holds ${who.role}`,
        }
      : undefined; // NOT_FOUND, as for everyone, from the join
  const policy = engine.registration ?? DEFAULT_REGISTRATION;
  if (!policy.open)
    return {
      code: 'PERMISSION_DENIED',
      message: `engine ${engine.name} takes registrations from admins only (registration.open is false)`,
    };
  if (policy.identities.length > 0 && !policy.identities.includes(who.name))
    return {
      code: 'PERMISSION_DENIED',
      message: `${name} is not among the identities engine ${engine.name} takes registrations from`,
    };
  if (existing?.removedBy !== undefined)
    return {
      code: 'FAILED_PRECONDITION',
      message: `instance ${request.id} was removed from ${engine.name} by ${existing.removedBy}; only an admin may register it again`,
    };
  if (existing && existing.owner === undefined)
    return {
      code: 'PERMISSION_DENIED',
      message: `instance ${request.id} of ${engine.name} is configured by an admin; a registration cannot change it`,
    };
  if (existing && existing.owner !== who.name)
    return {
      code: 'PERMISSION_DENIED',
      message: `instance ${request.id} of ${engine.name} was registered by ${JSON.stringify(existing.owner)}; ${name} may register only its own instances`,
    };
  if ((request.weight ?? 100) > policy.maxWeight)
    return {
      code: 'INVALID_ARGUMENT',
      message: `weight ${request.weight} is above engine ${engine.name}'s registration.maxWeight ${policy.maxWeight}`,
    };
  if (!existing && registeredCount >= policy.maxInstances)
    return {
      code: 'FAILED_PRECONDITION',
      message: `engine ${engine.name} holds its registration.maxInstances (${policy.maxInstances}) registered instances`,
    };
  return undefined;
}

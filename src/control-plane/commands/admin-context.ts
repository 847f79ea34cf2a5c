import { allows, type Role } from '../../model/security/roles';
import { NerveError } from '../../model/errors';

/**
 * Who asked for an admin operation, from where, through which transport, under which request id: what
 * the audit log line of every change says, and (as `actorLabel`) the config history's actor.
 */
export interface AdminContext {
  /** The authenticated principal's name (a JWT's sub, an API key's name), or the peer when auth is off. */
  readonly actor: string;
  /** `alert`: an alert rule's action, taken by the leader (actor `alert:<rule>`). */
  readonly via: 'rest' | 'grpc' | 'config' | 'alert';
  readonly requestId: string;
  /** The caller's address. */
  readonly from?: string;
  /** The caller's role, for operations whose role depends on their input; undefined: trusted (system). */
  readonly role?: Role;
}

/** What an audit line carries beside its action: the names and ids the change touched. */
export type AuditFields = Record<string, string | number | boolean | undefined>;

/** Writes one audit log line for a change (the admin service's; each part of the admin takes it). */
export type Audit = (ctx: AdminContext, action: string, fields: AuditFields) => void;

/** For changes no caller made (the config file at start, tests). */
export const SYSTEM: AdminContext = { actor: 'system', via: 'config', requestId: '' };

/** The actor a config history record names: who, and from where when that differs. */
export function actorLabel(ctx: AdminContext): string {
  return ctx.from && ctx.from !== ctx.actor ? `${ctx.actor} (${ctx.from})` : ctx.actor;
}

/** For operations whose needed role depends on what they touch (an entry's kind). */
export function requireRole(ctx: AdminContext, needed: Role, what: string): void {
  if (ctx.role !== undefined && !allows(ctx.role, needed))
    throw new NerveError('PERMISSION_DENIED', `${what} needs role ${needed}; ${ctx.actor} holds ${ctx.role}`);
}

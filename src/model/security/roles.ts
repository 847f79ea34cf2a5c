/**
 * DESIGN §2b roles, each including the one before: a viewer reads; an operator also drains, scales,
 * resets circuits, acknowledges alerts, runs rollouts and registers instances; an admin also changes
 * engine specs, policies, alert rules, channels and API keys, and restores backups.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether a caller holding `held` may do what needs `needed`. */
export function allows(held: Role | undefined, needed: Role): boolean {
  return held !== undefined && ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** The highest of the roles a token lists (unknown names are ignored); undefined when none is known. */
export function highestRole(names: readonly unknown[]): Role | undefined {
  let best: Role | undefined;
  for (const n of names) if (isRole(n) && !allows(best, n)) best = n;
  return best;
}

/**
 * Roles. Three form a ladder, each including the one before: a viewer reads; an operator also drains,
 * scales, resets circuits, acknowledges alerts, runs rollouts and registers instances; an admin also
 * changes engine specs, policies, alert rules, channels and API keys, and restores backups.
 *
 * `dataplane` stands apart from the ladder: it is what a router (or a proxyless client) holds to open
 * the data-plane streams (ADS, load reports, LRS), as the node its identity names, and nothing else. No
 * rung of the ladder includes it, and it includes none: a read-only credential can never report circuit
 * states or load, and a router's credential can read nothing over REST or admin gRPC.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export const DATAPLANE = 'dataplane';
/** Every role a credential may hold: the ladder, then `dataplane`. */
export const ALL_ROLES = [...ROLES, DATAPLANE] as const;
export type LadderRole = (typeof ROLES)[number];
export type Role = (typeof ALL_ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ALL_ROLES as readonly string[]).includes(value);
}

/** Whether a caller holding `held` may do what needs `needed`. */
export function allows(held: Role | undefined, needed: Role): boolean {
  if (held === undefined) return false;
  if (needed === DATAPLANE || held === DATAPLANE) return held === needed;
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/**
 * The role a token's list grants (unknown names are ignored): the highest rung of the ladder it names,
 * else `dataplane` when it names that; undefined when it names none.
 */
export function highestRole(names: readonly unknown[]): Role | undefined {
  let best: LadderRole | undefined;
  for (const n of names)
    if (isRole(n) && n !== DATAPLANE && (best === undefined || !allows(best, n))) best = n;
  return best ?? (names.includes(DATAPLANE) ? DATAPLANE : undefined);
}

import { z } from 'zod';

/**
 * What instances registering themselves may do in an engine, set by an admin in its spec
 * (`registration`). Absent: the defaults below, which let an operator's credential (engines registering
 * with NERVE_TOKEN) join an existing engine at up to weight 100.
 */
export const registrationSchema = z.strictObject({
  /** false: only an admin may register instances into this engine. */
  open: z.boolean().default(true),
  /** The highest weight a registration may ask for (an admin's instances are not bound by it). */
  maxWeight: z.number().int().min(0).max(1_000_000).default(100),
  /** How many registered instances the engine may hold at once. */
  maxInstances: z.number().int().min(1).max(10_000).default(256),
  /** Names of the identities (key names, token subjects, certificate names) allowed to register; empty: any operator. */
  identities: z.array(z.string().min(1).max(256)).max(1_000).default([]),
});

export type RegistrationPolicy = z.output<typeof registrationSchema>;

export const DEFAULT_REGISTRATION: RegistrationPolicy = {
  open: true,
  maxWeight: 100,
  maxInstances: 256,
  identities: [],
};

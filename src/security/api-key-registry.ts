import type { ApiKeyRecord } from '../model/security/api-key';
import { API_KEY_KIND, hashSecret } from '../model/security/api-key';
import type { Principal } from '../model/security/principal';
import type { Role } from '../model/security/roles';
import type { ConfigStore } from '../store/config-store';
import { REVOKED_KEYS } from './revoked-keys';

/** A key given in the settings (API_KEYS), for bootstrapping before any key exists in the store. */
export interface StaticKey {
  readonly name: string;
  readonly role: Role;
  readonly secret: string;
}

/**
 * Resolves API key secrets to principals. Keys created through the API live in the versioned store
 * (hashed), so every replica knows a new key, and a revoked one is refused, as soon as it has applied
 * the change; the index is rebuilt when the store's version moved, never per request. A revoked key's
 * hash stays in shared state outside the versioned configuration, so no rollback revives it.
 */
export class ApiKeyRegistry {
  private byHash = new Map<string, Principal>();
  private builtAt = -1;
  private readonly statics: ReadonlyMap<string, Principal>;

  constructor(
    private readonly store: ConfigStore,
    staticKeys: readonly StaticKey[] = [],
  ) {
    this.statics = new Map(
      staticKeys.map((k) => [hashSecret(k.secret), { name: k.name, role: k.role, via: 'api-key' as const }]),
    );
  }

  lookup(secret: string): Principal | undefined {
    const hash = hashSecret(secret);
    const fixed = this.statics.get(hash);
    if (fixed) return fixed;
    if (this.builtAt !== this.store.version()) this.rebuild();
    // Revocations outlive the entry: a rollback to before one brings the entry back, not the key.
    if (REVOKED_KEYS.map(this.store).has(hash)) return undefined;
    return this.byHash.get(hash);
  }

  /** Names taken by keys from the settings (the API cannot create or revoke those). */
  staticNames(): string[] {
    return [...this.statics.values()].map((p) => p.name);
  }

  private rebuild(): void {
    const next = new Map<string, Principal>();
    for (const e of this.store.list(API_KEY_KIND)) {
      const k = e.value as unknown as ApiKeyRecord;
      next.set(k.sha256, { name: k.name, role: k.role, via: 'api-key' });
    }
    this.byHash = next;
    this.builtAt = this.store.version();
  }
}

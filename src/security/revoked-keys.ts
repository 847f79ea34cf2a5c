import { REVOKED_KEYS_NS, type Revocation } from '../model/security/api-key';
import { SharedNamespace } from '../store/shared-namespace';

/** Revoked API keys: field = the key's SHA-256. Never versioned, so no rollback brings a key back. */
export const REVOKED_KEYS = new SharedNamespace<Revocation>(
  REVOKED_KEYS_NS,
  'the replica that revoked the key',
);

/**
 * Who asked for an admin operation, through which transport, under which request id: what the audit
 * log line of every change says. Credentials come with the security issue; until then the actor is the
 * peer's address.
 */
export interface AdminContext {
  readonly actor: string;
  readonly via: 'rest' | 'grpc' | 'config';
  readonly requestId: string;
}

/** For changes no caller made (the config file at start, tests). */
export const SYSTEM: AdminContext = { actor: 'system', via: 'config', requestId: '' };

/** A Sentinel's (or any server's) address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the configuration store is: one Redis by URL (`redis://`, `rediss://` for TLS), or the primary
 * that Redis Sentinels name, found again by asking them after a failover.
 */
export type RedisTarget =
  | {
      readonly kind: 'url';
      readonly url: string;
      /** REDIS_PASSWORD, when the URL carries none. */
      readonly password?: string;
    }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly HostPort[];
      /** The primary's name in the Sentinels' configuration (`sentinel monitor <name> …`). */
      readonly name: string;
      /** The data nodes' password (AUTH), and the Sentinels' own. */
      readonly password?: string;
      readonly sentinelPassword?: string;
      /** TLS to the data nodes and to the Sentinels, as `rediss://` is for one Redis. */
      readonly tls: boolean;
    };

/** The target as it may be shown: addresses and names, never a password. */
export function describeRedisTarget(t: RedisTarget): string {
  if (t.kind === 'url') return t.url.replace(/(\/\/[^:/@\s]*:)[^@/\s]*@/, '$1***@');
  return `primary "${t.name}" of Sentinels ${t.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}${t.tls ? ' (TLS)' : ''}`;
}

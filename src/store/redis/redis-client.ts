import Redis, { type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../../model/redis-target';

/**
 * A client of the target: one Redis by URL, or through Sentinel, where ioredis asks the Sentinels for
 * the current primary at each connect and so follows a failover by itself (every command of the old
 * connection fails meanwhile: the store's callers see unavailable, never a hang).
 */
export function redisClient(target: RedisTarget, options: RedisOptions): Redis {
  if (target.kind === 'url')
    return new Redis(
      target.url,
      target.password === undefined ? options : { ...options, password: target.password },
    );
  return new Redis({
    ...options,
    sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: target.name,
    ...(target.password === undefined ? {} : { password: target.password }),
    ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
    ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    // A Sentinel that names a replica as the primary (mid-failover) is asked again, not written to.
    role: 'master',
  });
}

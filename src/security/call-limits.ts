import Redis from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { AdminError } from '../control-plane/admin/admin-error';
import type { Principal } from '../model/security/principal';

export interface CallLimitSettings {
  /** Calls per minute one client address may make (REST and admin gRPC together); 0: no limit. */
  readonly perAddressPerMinute: number;
  /** Calls per minute one credential (API key, token subject) may make; 0: no limit. */
  readonly perPrincipalPerMinute: number;
  /** Shared counters across replicas when set (one Redis, keys under `prefix`). */
  readonly redisUrl?: string;
  readonly prefix?: string;
}

export const DEFAULT_CALL_LIMITS: CallLimitSettings = {
  perAddressPerMinute: 6000,
  perPrincipalPerMinute: 6000,
};

/** Too many calls: HTTP 429 with Retry-After, gRPC RESOURCE_EXHAUSTED. */
export class RateLimitedError extends AdminError {
  constructor(
    what: string,
    readonly retryAfterS: number,
  ) {
    super('RESOURCE_EXHAUSTED', `rate limit of ${what} reached; retry in ${retryAfterS} s`);
  }
}

/**
 * Rate limits of the admin surfaces (OWASP API4, unrestricted resource consumption): per client address,
 * counted before authentication so guessing credentials is slow too, and per principal after it. With
 * Redis the counters are shared by every replica (a client cannot multiply its budget by spreading
 * calls), with an in-memory limiter standing in while Redis is unreachable.
 */
export class CallLimits {
  private readonly byAddress?: RateLimiterAbstract;
  private readonly byPrincipal?: RateLimiterAbstract;
  private readonly redis?: Redis;

  constructor(private readonly settings: CallLimitSettings = DEFAULT_CALL_LIMITS) {
    if (settings.redisUrl)
      this.redis = new Redis(settings.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        lazyConnect: false,
      });
    this.redis?.on('error', () => undefined); // the insurance limiter answers meanwhile
    const make = (points: number, name: string): RateLimiterAbstract | undefined => {
      if (points <= 0) return undefined;
      const memory = new RateLimiterMemory({ points, duration: 60, keyPrefix: name });
      if (!this.redis) return memory;
      return new RateLimiterRedis({
        storeClient: this.redis,
        points,
        duration: 60,
        keyPrefix: `${settings.prefix ?? 'nerve:'}ratelimit:${name}`,
        insuranceLimiter: memory,
      });
    };
    this.byAddress = make(settings.perAddressPerMinute, 'address');
    this.byPrincipal = make(settings.perPrincipalPerMinute, 'principal');
  }

  /** Whether the counters are Redis's now (false: in memory, alone, or standing in while Redis is away). */
  get shared(): boolean {
    return this.redis?.status === 'ready';
  }

  /** Counts a call from `address`; throws RateLimitedError past the budget. */
  async address(address: string): Promise<void> {
    if (this.byAddress)
      await consume(
        this.byAddress,
        address,
        `${this.settings.perAddressPerMinute} calls a minute per address`,
      );
  }

  /** Counts a call of an authenticated principal (none when authentication is off). */
  async principal(p: Principal): Promise<void> {
    if (this.byPrincipal && p.via !== 'none')
      await consume(
        this.byPrincipal,
        `${p.via}:${p.name}`,
        `${this.settings.perPrincipalPerMinute} calls a minute per credential`,
      );
  }

  close(): void {
    this.redis?.disconnect();
  }
}

async function consume(limiter: RateLimiterAbstract, key: string, what: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (res) {
    if (res instanceof RateLimiterRes)
      throw new RateLimitedError(what, Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
    throw res;
  }
}

import type Redis from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { NerveError } from '../model/errors';
import type { Principal } from '../model/security/principal';
import type { RedisTarget } from '../model/redis-target';
import { redisClient } from '../store/redis/redis-client';

export interface CallLimitSettings {
  /** Calls per minute one client address may make (REST and admin gRPC together); 0: no limit. */
  readonly perAddressPerMinute: number;
  /** Calls per minute one credential (API key, token subject) may make; 0: no limit. */
  readonly perPrincipalPerMinute: number;
  /** Shared counters across replicas when set (one Redis, keys under `prefix`). */
  /** Where the shared counters are (the configuration store's Redis); none: each replica counts alone. */
  readonly redis?: RedisTarget;
  readonly prefix?: string;
  /**
   * The longest a call waits for the shared counters (default 50 ms): past it, this replica's own
   * counters answer, and keep answering for `bypassMs` (default 5 s) before Redis is tried again. A
   * hung Redis so adds at most this to one call, never its hang to every call.
   */
  readonly maxWaitMs?: number;
  readonly bypassMs?: number;
}

export const DEFAULT_CALL_LIMITS: CallLimitSettings = {
  perAddressPerMinute: 6000,
  perPrincipalPerMinute: 6000,
};

/** Too many calls: HTTP 429 with Retry-After, gRPC RESOURCE_EXHAUSTED. */
export class RateLimitedError extends NerveError {
  constructor(
    what: string,
    readonly retryAfterS: number,
  ) {
    super(
      'RESOURCE_EXHAUSTED',
      `rate limit of ${what} reached; retry in ${retryAfterS} s`,
      [],
      retryAfterS * 1000,
    );
  }
}

/**
 * Rate limits of the admin surfaces (OWASP API4, unrestricted resource consumption): per client address,
 * counted before authentication so guessing credentials is slow too, and per principal after it. With
 * Redis the counters are shared by every replica (a client cannot multiply its budget by spreading
 * calls), with an in-memory limiter standing in while Redis is unreachable.
 */
export class CallLimits {
  private readonly byAddress?: Limiter;
  private readonly byPrincipal?: Limiter;
  private readonly redis?: Redis;
  /** Until then the shared counters are not asked (they were slow or failing). */
  private bypassUntil = 0;
  private readonly maxWaitMs: number;
  private readonly bypassMs: number;

  constructor(
    private readonly settings: CallLimitSettings = DEFAULT_CALL_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.maxWaitMs = settings.maxWaitMs ?? 50;
    this.bypassMs = settings.bypassMs ?? 5_000;
    if (settings.redis)
      this.redis = redisClient(settings.redis, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: 1_000,
        lazyConnect: false,
      });
    this.redis?.on('error', () => undefined); // this replica's own counters answer meanwhile
    const make = (points: number, name: string): Limiter | undefined => {
      if (points <= 0) return undefined;
      const memory = new RateLimiterMemory({ points, duration: 60, keyPrefix: name });
      if (!this.redis) return { memory };
      const shared = new RateLimiterRedis({
        storeClient: this.redis,
        points,
        duration: 60,
        keyPrefix: `${settings.prefix ?? 'nerve:'}ratelimit:${name}`,
        insuranceLimiter: new RateLimiterMemory({ points, duration: 60, keyPrefix: `${name}-insurance` }),
      });
      return { memory, shared };
    };
    this.byAddress = make(settings.perAddressPerMinute, 'address');
    this.byPrincipal = make(settings.perPrincipalPerMinute, 'principal');
  }

  /** Whether the counters are Redis's now (false: in memory, alone, or standing in while Redis is away or slow). */
  get shared(): boolean {
    return this.redis?.status === 'ready' && this.now() >= this.bypassUntil;
  }

  /** Counts a call from `address`; throws RateLimitedError past the budget. */
  async address(address: string): Promise<void> {
    if (this.byAddress)
      await this.consume(
        this.byAddress,
        address,
        `${this.settings.perAddressPerMinute} calls a minute per address`,
      );
  }

  /** Counts a call of an authenticated principal (none when authentication is off). */
  async principal(p: Principal): Promise<void> {
    if (this.byPrincipal && p.via !== 'none')
      await this.consume(
        this.byPrincipal,
        `${p.via}:${p.name}`,
        `${this.settings.perPrincipalPerMinute} calls a minute per credential`,
      );
  }

  close(): void {
    this.redis?.disconnect();
  }

  /**
   * This replica's counters always count (they answer at once); the shared ones decide when they answer
   * within maxWaitMs. When they do not, this replica's answer stands and the shared counters are left
   * alone for bypassMs.
   */
  private async consume(limiter: Limiter, key: string, what: string): Promise<void> {
    const local = consume(limiter.memory, key, what);
    if (!limiter.shared || !this.shared) return local;
    const shared = consume(limiter.shared, key, what);
    shared.catch(() => undefined); // settled late, or refused after this call was already answered
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.maxWaitMs);
    });
    try {
      if ((await Promise.race([shared.then(() => 'ok' as const), late])) === 'late') {
        this.bypassUntil = this.now() + this.bypassMs;
        return local;
      }
      await local.catch(() => undefined); // the shared verdict stands
    } finally {
      clearTimeout(timer);
    }
  }
}

interface Limiter {
  /** This replica's counters. */
  readonly memory: RateLimiterAbstract;
  /** Every replica's, in Redis (with its own insurance limiter for failures it sees). */
  readonly shared?: RateLimiterAbstract;
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

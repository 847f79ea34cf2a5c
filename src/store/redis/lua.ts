import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/** A Lua script run by its SHA (EVALSHA), loaded with EVAL the first time the server does not know it. */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/** A flat HGETALL reply [k1, v1, k2, v2…] as pairs. */
export function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

export type StreamEntry = [id: string, fields: string[]];

/** The fields of a stream entry by name. */
export function fieldsOf(fields: readonly string[]): Map<string, string> {
  return new Map(pairs(fields));
}

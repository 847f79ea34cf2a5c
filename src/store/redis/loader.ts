import type Redis from 'ioredis';
import { ConfigState, type JsonValue } from '../../model/config';
import type { SharedChange } from '../config-store';
import type { RedisKeys } from './keys';
import { LuaScript, pairs } from './lua';
import { LOAD, LOAD_SHARED } from './scripts';

const loadScript = new LuaScript(LOAD);
const loadSharedScript = new LuaScript(LOAD_SHARED);

/** A store's identity record: which generation, where it came from, what it superseded. */
export interface GenerationInfo {
  readonly id: string;
  readonly origin: 'created' | 'reseeded' | 'restored';
  /** The generation this one replaced (reseed, restore): replicas that followed it adopt this one. */
  readonly supersedes?: string;
  readonly at: number;
  readonly by: string;
  /** The version the store was given when this generation began. */
  readonly version: number;
}

/** What replicas that found the store lost or changed their data wrote into it. */
export interface DivergedMarker {
  readonly replica: string;
  readonly generation: string;
  readonly version: number;
  readonly reason: string;
  readonly at: number;
}

export interface LoadedConfig {
  readonly state: ConfigState;
  readonly feedId: string;
  /** '' when the store has none (new, flushed, or written before stores had one). */
  readonly generation: string;
  readonly info: GenerationInfo | undefined;
  readonly marker: DivergedMarker | undefined;
}

/** The whole configuration as one atomic read, with the store's identity and the feed id it is current as of. */
export async function loadConfig(redis: Redis, k: RedisKeys): Promise<LoadedConfig> {
  const [rawVersion, values, revisions, feedId, generation, info, marker] = (await loadScript.run(
    redis,
    [k.version, k.values, k.revisions, k.feed, k.generation, k.generationInfo, k.diverged],
    [],
  )) as [string, string[], string[], string, string, string, string];
  const revs = new Map(pairs(revisions));
  const state = ConfigState.from(
    Number(rawVersion),
    pairs(values).map(([key, value]) => {
      const at = key.indexOf('/');
      return {
        kind: key.slice(0, at),
        name: key.slice(at + 1),
        revision: Number(revs.get(key) ?? 0),
        value: JSON.parse(value) as JsonValue,
      };
    }),
  );
  return {
    state,
    feedId,
    generation,
    info: parsed<GenerationInfo>(info),
    marker: parsed<DivergedMarker>(marker),
  };
}

function parsed<T>(text: string): T | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

export type SharedState = Map<string, Map<string, JsonValue>>;

/** All shared state as one atomic read, with its sequence number and the shared feed id. */
export async function loadShared(
  redis: Redis,
  k: RedisKeys,
): Promise<{ state: SharedState; seq: number; feedId: string }> {
  const reply = (await loadSharedScript.run(
    redis,
    [k.sharedIndex, k.sharedSeq, k.sharedFeed],
    [k.sharedPrefix],
  )) as (string | string[])[];
  const state: SharedState = new Map();
  for (let i = 2; i + 1 < reply.length; i += 2)
    state.set(
      String(reply[i]),
      new Map(pairs(reply[i + 1] as string[]).map(([f, v]) => [f, JSON.parse(v) as JsonValue])),
    );
  return { state, seq: Number(reply[0]), feedId: String(reply[1]) };
}

/** What differs between two shared states, field by field (removed fields with value undefined). */
export function sharedChanges(before: SharedState, after: SharedState): SharedChange[] {
  const out: SharedChange[] = [];
  for (const [ns, next] of after) {
    const old = before.get(ns);
    for (const [field, value] of next)
      if (JSON.stringify(old?.get(field)) !== JSON.stringify(value)) out.push({ ns, field, value });
    for (const field of old?.keys() ?? []) if (!next.has(field)) out.push({ ns, field, value: undefined });
  }
  for (const [ns, old] of before)
    if (!after.has(ns)) for (const field of old.keys()) out.push({ ns, field, value: undefined });
  return out;
}

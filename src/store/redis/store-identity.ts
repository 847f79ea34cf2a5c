import { canonicalJson, ConfigState, type JsonValue } from '../../model/config';
import type { DivergedMarker, GenerationInfo } from './loader';

/** What a replica follows: the store generation it loaded, its version, and whether (since when) it diverged. */
export interface FollowedStore {
  /** Undefined until the replica first loaded the store. */
  readonly generation: string | undefined;
  readonly version: number;
  /** When it diverged (epoch ms); undefined while it follows the store. */
  readonly divergedAtMs: number | undefined;
}

/** What a load of the store found: its generation ('' when none), that generation's record, the marker, its version. */
export interface FoundStore {
  readonly generation: string;
  readonly info: GenerationInfo | undefined;
  readonly marker: DivergedMarker | undefined;
  readonly version: number;
}

/**
 * Why a replica must not follow the store it just loaded, or undefined when it may. The rules:
 * - an operator's reseed or restore (a generation that names the one this replica followed, or made
 *   after it diverged) is adopted, once no replica's marker says the store lost data;
 * - a store with no generation, or another one, lost or replaced this replica's data;
 * - another replica's marker (left when it found the loss) holds for every replica that follows the
 *   marked generation, or none, or finds a generation the marker does not know;
 * - a version behind this replica's means the store rewound (an old snapshot, a restart without data).
 */
export function divergence(mine: FollowedStore, found: FoundStore): string | undefined {
  const { generation, info, marker } = found;
  const held = `this replica holds version ${mine.version}`;
  const reseeded =
    generation !== '' &&
    info !== undefined &&
    info.origin !== 'created' &&
    (info.supersedes === (mine.generation ?? '') ||
      (mine.divergedAtMs !== undefined && info.at >= mine.divergedAtMs));
  if (reseeded && !marker) return undefined;
  if (mine.generation !== undefined && generation !== mine.generation) {
    return generation === ''
      ? `the store lost its data (no generation; it is at version ${found.version}, ${held} of generation ${mine.generation})`
      : `the store's generation changed from ${mine.generation} to ${generation} (${held})`;
  }
  if (
    marker &&
    (mine.generation === undefined ||
      marker.generation === mine.generation ||
      generation !== marker.generation)
  )
    return `replica ${marker.replica} found the store had lost data (${marker.reason}); it holds version ${marker.version}`;
  if (found.version < mine.version)
    return `the store is at version ${found.version}, behind this replica's ${mine.version} (flushed, restarted without its data, or restored from an older snapshot)`;
  return undefined;
}

/**
 * What a new generation holds at `version`: a backup's entries (a restore; an entry equal to the one held
 * keeps its revision, so an If-Match read before stays good) or, without entries, the replica's own
 * state (a reseed).
 */
export function generationContent(
  current: ConfigState,
  entries: readonly { kind: string; name: string; value: JsonValue }[] | undefined,
  version: number,
): ConfigState {
  if (!entries) return ConfigState.from(version, current.list());
  return ConfigState.from(
    version,
    entries.map((e) => {
      const before = current.get(e.kind, e.name);
      const same = before !== undefined && canonicalJson(before.value) === canonicalJson(e.value);
      return { ...e, revision: same ? before.revision : version };
    }),
  );
}

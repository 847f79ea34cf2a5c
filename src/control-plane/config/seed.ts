import { canonicalJson, type ConfigOp, type JsonValue } from '../../model/config';
import type { EngineSpec } from '../../model/engine';
import { ENGINE_KIND, toDocument } from '../../model/engine-document';
import type { Logger } from '../../observability/logger';
import type { ConfigStore } from '../../store/config-store';

/**
 * Stores the config file's engines as one change (actor `config file`), and only those that differ from
 * what the store holds: replicas starting with the same file add nothing to the history. A replica that
 * cannot write (the store is down) still serves what the store held: the failure is logged, not thrown.
 */
export async function seedEngines(
  store: ConfigStore,
  specs: readonly EngineSpec[],
  logger: Logger,
): Promise<void> {
  const ops: ConfigOp[] = [];
  for (const spec of specs) {
    const current = store.get(ENGINE_KIND, spec.name);
    const value = keepManagedInstances(toDocument(spec), current?.value);
    if (!current || canonicalJson(current.value) !== canonicalJson(value))
      ops.push({ op: 'put', kind: ENGINE_KIND, name: spec.name, value });
  }
  if (ops.length === 0) return;
  const names = ops.map((o) => o.name).join(', ');
  try {
    await store.commit({
      actor: 'config file',
      summary: names.length > 180 ? `config file: ${ops.length} engines` : `config file: ${names}`,
      ops,
    });
  } catch (err) {
    logger.error('config file engines not stored', { error: String(err) });
  }
}

/**
 * A process-driven engine's instances are what its supervisor runs, not configuration: a config file
 * read at start keeps the listed ones (otherwise a control plane restarting would take every managed
 * instance out of routing until the supervisor listed them again).
 */
function keepManagedInstances(doc: JsonValue, stored: JsonValue | undefined): JsonValue {
  const runs = (d: JsonValue | undefined) =>
    (d as { runtime?: { driver?: string } } | undefined)?.runtime?.driver === 'process';
  if (!runs(doc) || !runs(stored)) return doc;
  return {
    ...(doc as object),
    instances: (stored as { instances?: JsonValue }).instances ?? [],
  } as JsonValue;
}

/** Stores the config file's other entries (alert rules, channels, silences) the same way: one change, only what differs. */
export async function seedEntries(
  store: ConfigStore,
  entries: readonly { kind: string; name: string; value: JsonValue }[],
  logger: Logger,
): Promise<void> {
  const ops: ConfigOp[] = entries
    .filter((e) => {
      const current = store.get(e.kind, e.name);
      return !current || canonicalJson(current.value) !== canonicalJson(e.value);
    })
    .map((e) => ({ op: 'put', kind: e.kind, name: e.name, value: e.value }));
  if (ops.length === 0) return;
  try {
    await store.commit({
      actor: 'config file',
      summary: `config file: ${ops
        .map((o) => `${o.kind} ${o.name}`)
        .join(', ')
        .slice(0, 180)}`,
      ops,
    });
  } catch (err) {
    logger.error('config file entries not stored', { error: String(err) });
  }
}

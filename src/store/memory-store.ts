import type { EngineSpec } from '../model/engine';
import { type ConfigStore, RevisionConflictError, type StoreEvent } from './config-store';

/** The embedded store: one process, nothing persisted. */
export class MemoryStore implements ConfigStore {
  private readonly engines = new Map<string, EngineSpec>();
  private readonly revisions = new Map<string, number>();
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  async list(): Promise<EngineSpec[]> {
    return [...this.engines.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<EngineSpec | undefined> {
    return this.engines.get(name);
  }

  async put(spec: EngineSpec, expectedRevision?: number): Promise<EngineSpec> {
    const actual = this.engines.get(spec.name)?.revision ?? 0;
    if (expectedRevision !== undefined && expectedRevision !== actual) {
      throw new RevisionConflictError(spec.name, expectedRevision, actual);
    }
    const revision = (this.revisions.get(spec.name) ?? 0) + 1;
    this.revisions.set(spec.name, revision);
    const stored: EngineSpec = { ...spec, revision };
    this.engines.set(spec.name, stored);
    this.emit({ kind: 'put', spec: stored });
    return stored;
  }

  async delete(name: string): Promise<boolean> {
    const existed = this.engines.delete(name);
    if (existed) this.emit({ kind: 'delete', name });
    return existed;
  }

  watch(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

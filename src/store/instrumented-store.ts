import type { ChangeRecord, ConfigEntry, JsonValue } from '../model/config';
import type { ChangeRequest, ConfigStore, SharedChange, StoreStatus, ReseedRequest } from './config-store';
import type { LeaderLease } from './leader-lease';
import type { HistoryStore } from './history-store';
import type { IdempotencyRecord } from './idempotency';

export type StoreTiming = (operation: string, seconds: number, ok: boolean) => void;

/** A store whose remote operations are timed (store latency metrics); local reads pass straight through. */
export class InstrumentedStore implements ConfigStore {
  constructor(
    private readonly store: ConfigStore,
    private readonly observe: StoreTiming,
  ) {}

  get lease(): LeaderLease {
    return this.store.lease;
  }

  get history(): HistoryStore {
    return this.store.history;
  }

  start(): Promise<void> {
    return this.store.start();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  status(): StoreStatus {
    return this.store.status();
  }

  version(): number {
    return this.store.version();
  }

  list(kind?: string): ConfigEntry[] {
    return this.store.list(kind);
  }

  get(kind: string, name: string): ConfigEntry | undefined {
    return this.store.get(kind, name);
  }

  commit(request: ChangeRequest): Promise<ChangeRecord> {
    return this.timed('commit', () => this.store.commit(request));
  }

  idempotency(id: string): Promise<IdempotencyRecord | undefined> {
    return this.store.idempotency(id);
  }

  rememberAnswer(id: string, record: IdempotencyRecord): Promise<void> {
    return this.store.rememberAnswer(id, record);
  }

  reseed(request: ReseedRequest): Promise<ChangeRecord> {
    return this.timed('reseed', () => this.store.reseed(request));
  }

  changes(from: number, to: number): Promise<ChangeRecord[]> {
    return this.timed('changes', () => this.store.changes(from, to));
  }

  watch(listener: (change: ChangeRecord) => void): () => void {
    return this.store.watch(listener);
  }

  watchStatus(listener: (status: StoreStatus) => void): () => void {
    return this.store.watchStatus(listener);
  }

  shared(ns: string): ReadonlyMap<string, JsonValue> {
    return this.store.shared(ns);
  }

  putShared(ns: string, fields: readonly (readonly [string, JsonValue | undefined])[], fence?: string) {
    return this.timed('putShared', () => this.store.putShared(ns, fields, fence));
  }

  watchShared(listener: (change: SharedChange) => void): () => void {
    return this.store.watchShared(listener);
  }

  private async timed<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await fn();
      this.observe(operation, (performance.now() - started) / 1000, true);
      return result;
    } catch (err) {
      this.observe(operation, (performance.now() - started) / 1000, false);
      throw err;
    }
  }
}

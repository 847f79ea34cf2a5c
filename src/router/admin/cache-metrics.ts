import { Counter, Gauge, type Registry } from 'prom-client';
import type { CacheCounters } from '../cache/response-cache';
import type { RoutingState } from '../proxy/routing-state';

/**
 * Response caches on the router's /metrics: hits, misses, coalesced calls (joined to an identical call in
 * flight), evictions and stores as counters, entries and bytes as gauges, per engine; read at scrape time.
 */
export function registerCacheMetrics(registry: Registry, state: RoutingState): void {
  const registers = [registry];
  const counter = (name: string, help: string, field: keyof CacheCounters) =>
    new Counter({
      name,
      help,
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        for (const [engine, cache] of state.responseCaches()) this.inc({ engine }, cache.counters[field]);
      },
    });
  counter('nerve_router_cache_hits_total', 'Calls answered from the response cache.', 'hits');
  counter('nerve_router_cache_misses_total', 'Cacheable calls forwarded (their answer recorded).', 'misses');
  counter('nerve_router_cache_coalesced_total', 'Calls joined to an identical call in flight.', 'coalesced');
  counter('nerve_router_cache_evictions_total', 'Entries evicted for the entry or byte bound.', 'evictions');
  counter('nerve_router_cache_stores_total', 'Answers stored.', 'stores');
  const gauge = (name: string, help: string, read: (c: { size: number; sizeBytes: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        for (const [engine, cache] of state.responseCaches()) this.set({ engine }, read(cache));
      },
    });
  gauge('nerve_router_cache_entries', 'Entries in the response cache.', (c) => c.size);
  gauge('nerve_router_cache_bytes', 'Bytes held by the response cache.', (c) => c.sizeBytes);
}

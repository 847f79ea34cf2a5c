import type { Logger } from 'winston';
import type { Span } from './span';

/**
 * Sends spans to an OpenTelemetry collector with OTLP over HTTP, JSON encoding (POST <endpoint>/v1/traces),
 * the transport every collector accepts. Written here rather than taken from the OpenTelemetry SDK: Nerve
 * already knows its spans (the router records a call's span without a context manager or async hooks,
 * which would tax every call), so all it needs is this batcher.
 *
 * Contract: `add` never blocks nor throws; spans wait at most `flushMs` (or until `batchSize` are queued);
 * beyond `maxQueue` queued spans new ones are dropped and counted; a failed POST drops its batch (counted,
 * logged at most once a minute) — tracing must never hold calls or memory hostage to a collector.
 */
export interface OtlpOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT (base: /v1/traces is added) or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is). */
  readonly url: string;
  readonly serviceName: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly flushMs?: number;
  readonly batchSize?: number;
  readonly maxQueue?: number;
}

/** The exporter's options from the standard OTEL_* variables; undefined when no endpoint is set. */
export function otlpFromEnv(env: NodeJS.ProcessEnv, serviceName: string): OtlpOptions | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!traces && !base) return undefined;
  const url = traces || `${base!.replace(/\/+$/, '')}/v1/traces`;
  const headers: Record<string, string> = {};
  for (const pair of (env.OTEL_EXPORTER_OTLP_HEADERS ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0)
      headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return { url, serviceName: env.OTEL_SERVICE_NAME || serviceName, headers };
}

const KIND = { internal: 1, server: 2, client: 3 } as const;

export class OtlpExporter {
  private queue: Span[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private lastWarnAt = 0;
  /** Spans sent, and dropped (queue full or the collector failed). */
  exported = 0;
  dropped = 0;

  constructor(
    private readonly options: OtlpOptions,
    private readonly logger: Logger,
  ) {}

  add(span: Span): void {
    if (this.queue.length >= (this.options.maxQueue ?? 2048)) {
      this.dropped++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= (this.options.batchSize ?? 512)) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 1000).unref();
  }

  /** Sends what is queued now; resolves when the POST is answered (or failed). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = this.post(batch);
    await this.inFlight;
    this.inFlight = undefined;
  }

  private async post(batch: Span[]): Promise<void> {
    try {
      const res = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.options.headers },
        body: JSON.stringify(this.body(batch)),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`collector answered HTTP ${res.status}`);
      this.exported += batch.length;
    } catch (err) {
      this.dropped += batch.length;
      const now = Date.now();
      if (now - this.lastWarnAt > 60_000) {
        this.lastWarnAt = now;
        this.logger.warn('OTLP export failed; spans dropped', {
          url: this.options.url,
          spans: batch.length,
          error: (err as Error).message,
        });
      }
    }
  }

  /** The OTLP/JSON ExportTraceServiceRequest of a batch. */
  body(batch: readonly Span[]): unknown {
    const resource = { 'service.name': this.options.serviceName, ...this.options.attributes };
    return {
      resourceSpans: [
        {
          resource: { attributes: attributes(resource) },
          scopeSpans: [
            {
              scope: { name: 'nerve' },
              spans: batch.map((s) => ({
                traceId: s.traceId,
                spanId: s.spanId,
                ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
                name: s.name,
                kind: KIND[s.kind],
                startTimeUnixNano: nanos(s.startUnixMs),
                endTimeUnixNano: nanos(s.startUnixMs + s.durationMs),
                attributes: attributes(s.attributes),
                status: s.ok ? { code: 1 } : { code: 2, message: `status ${s.status}` },
              })),
            },
          ],
        },
      ],
    };
  }
}

function nanos(ms: number): string {
  return (BigInt(Math.round(ms * 1000)) * 1000n).toString();
}

function attributes(record: Readonly<Record<string, string | number | boolean>>): unknown[] {
  return Object.entries(record).map(([key, v]) => ({
    key,
    value:
      typeof v === 'string'
        ? { stringValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : Number.isInteger(v)
            ? { intValue: String(v) }
            : { doubleValue: v },
  }));
}

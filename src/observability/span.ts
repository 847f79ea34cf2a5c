/** A finished span as Nerve records it: what the logs print, the OTLP exporter sends and routers report. */
export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP span kinds Nerve uses: a server span per call received, a client span per call sent. */
  readonly kind: 'server' | 'client' | 'internal';
  readonly startUnixMs: number;
  readonly durationMs: number;
  /** gRPC status code of the call (0 = OK); HTTP status for REST. */
  readonly status: number;
  readonly ok: boolean;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** A span's fields for one log line: ids first, so a search by trace id finds it on every plane. */
export function spanLogFields(span: Span): Record<string, unknown> {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId || undefined,
    name: span.name,
    status: span.status,
    durationMs: Math.round(span.durationMs * 1000) / 1000,
    ...span.attributes,
  };
}

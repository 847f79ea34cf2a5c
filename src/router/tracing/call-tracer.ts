import type { H2Stream } from '../../protocol/h2/stream';
import type { Span } from '../../observability/span';
import {
  TRACEPARENT,
  formatTraceparent,
  newSpanId,
  newTraceparent,
  parseTraceparent,
} from '../../observability/trace-context';
import { headerValue } from '../http/headers';
import { CallSpan } from './call-span';
import { MADE_TRACEPARENT } from './made-traceparent';

export interface TracingOptions {
  /** Share of the traces the router starts (calls without a traceparent) that are sampled: 0 to 1. */
  readonly sampleRatio: number;
  /** Spans are exported (OTLP): engines' spans of unsampled calls still belong to a trace then. */
  readonly exporting?: boolean;
}

/**
 * W3C Trace Context at the router's ingress, per call:
 * - no (or an invalid) traceparent, while something traces (a sample ratio above 0, or spans exported):
 *   the router starts a trace and sends one on, sampled at `sampleRatio`; an unsampled one is written by
 *   the upstream encoder (MADE_TRACEPARENT, `H2Stream.added`). While nothing traces, the call goes on as
 *   it came and pays nothing for tracing;
 * - an unsampled one: passed on as it came (nothing allocated);
 * - a sampled one: the router records its own span (CallSpan) and sends the traceparent on with its span
 *   as the parent, so the engine's span hangs under the router's.
 * Sampled calls' spans go to `finish` (the router logs, reports and exports them).
 */
export class CallTracer {
  /** Traceparents made for calls without one (MADE_TRACEPARENT's seeds). */
  private made = 0;
  /** Whether calls without a (valid) traceparent get one: only while something traces. */
  private readonly starts: boolean;

  constructor(
    private readonly finish: (span: Span) => void,
    private readonly options: TracingOptions,
  ) {
    this.starts = options.sampleRatio > 0 || options.exporting === true;
  }

  begin(stream: H2Stream, engine: string): void {
    const headers = stream.headers;
    const value = headerValue(headers, TRACEPARENT);
    // Version 00 is 55 characters; its flags' last hex digit tells "sampled" (odd). Later versions may
    // be longer, so only a shorter value or a missing dash means invalid here.
    if (value !== undefined && value.length >= 55 && value.charCodeAt(2) === 45 /* - */) {
      if (!oddHexDigit(value.charCodeAt(54))) return;
      const context = parseTraceparent(value);
      if (context !== undefined) {
        const spanId = newSpanId();
        this.observe(stream, engine, context.traceId, spanId, context.parentId);
        stream.headers = replaced(headers, formatTraceparent(context.traceId, spanId, true));
        return;
      }
    }
    if (!this.starts) return;
    const ratio = this.options.sampleRatio;
    const sampled = ratio > 0 && (ratio >= 1 || Math.random() < ratio);
    if (value === undefined && !sampled) {
      // The common case: no string, no list; the upstream encoder writes the field (H2Stream.added).
      stream.added = MADE_TRACEPARENT;
      stream.addedSeed = ++this.made;
      return;
    }
    const created = newTraceparent(sampled);
    stream.headers = value === undefined ? appended(headers, created) : replaced(headers, created);
    if (sampled) this.observe(stream, engine, created.slice(3, 35), created.slice(36, 52), '');
  }

  private observe(stream: H2Stream, engine: string, traceId: string, spanId: string, parent: string): void {
    const method = headerValue(stream.headers, ':path') ?? '';
    stream.observer = new CallSpan(this.finish, traceId, spanId, parent, engine, method);
  }
}

/** 1 3 5 7 9 b d f (also upper case, which the parser then rejects). */
function oddHexDigit(code: number): boolean {
  return (
    (code >= 48 && code <= 57 && (code & 1) === 1) ||
    ((code | 32) >= 97 && (code | 32) <= 102 && (code & 1) === 0)
  );
}

function appended(headers: readonly string[], traceparent: string): string[] {
  const out = headers.slice();
  out.push(TRACEPARENT, traceparent);
  return out;
}

function replaced(headers: readonly string[], traceparent: string): string[] {
  const out = headers.slice();
  for (let i = 0; i < out.length; i += 2) if (out[i] === TRACEPARENT) out[i + 1] = traceparent;
  return out;
}

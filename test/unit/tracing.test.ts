import { H2Stream, type StreamConnection } from '../../src/protocol/h2/stream';
import { CallTracer } from '../../src/router/tracing/call-tracer';
import { CallSpan } from '../../src/router/tracing/call-span';
import { MADE_TRACEPARENT } from '../../src/router/tracing/made-traceparent';
import { HpackDecoder } from '../../src/protocol/h2/hpack/decoder';
import { HpackEncoder } from '../../src/protocol/h2/hpack/encoder';
import type { Span } from '../../src/observability/span';
import { newTraceparent, parseTraceparent } from '../../src/observability/trace-context';
import { DEFAULT_FEATURES, parseFeatures } from '../../src/config/features';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

function stream(headers: string[]): H2Stream {
  return new H2Stream({} as StreamConnection, 1, headers, 65535, 65535);
}

const base = [
  ':method',
  'POST',
  ':path',
  '/nerve.engine.v1.Engine/Invoke',
  'content-type',
  'application/grpc',
];

describe('W3C traceparent', () => {
  it('parses version 00 and later versions, and rejects what the recommendation calls invalid', () => {
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-01`)).toEqual({
      traceId: TRACE,
      parentId: PARENT,
      sampled: true,
    });
    expect(parseTraceparent(`00-${TRACE}-${PARENT}-00`)?.sampled).toBe(false);
    expect(parseTraceparent(`01-${TRACE}-${PARENT}-03-extra`)?.sampled).toBe(true);
    for (const bad of [
      `ff-${TRACE}-${PARENT}-01`,
      `00-${'0'.repeat(32)}-${PARENT}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${PARENT}-01`,
      `00-${TRACE}-${PARENT}-01-extra`,
      'garbage',
    ])
      expect(parseTraceparent(bad)).toBeUndefined();
    expect(parseTraceparent(newTraceparent(true))?.sampled).toBe(true);
  });
});

describe("the router's tracer", () => {
  const spans: Span[] = [];
  // Exporting: something traces, so calls without a traceparent get one (sampled at the ratio).
  const tracer = (ratio = 0, exporting = true) =>
    new CallTracer((s) => spans.push(s), { sampleRatio: ratio, exporting });

  it('passes an unsampled traceparent on untouched: the same header list, no span', () => {
    const headers = [...base, 'traceparent', `00-${TRACE}-${PARENT}-00`];
    const s = stream(headers);
    tracer().begin(s, 'calc');
    expect(s.headers).toBe(headers);
    expect(s.observer).toBeUndefined();
  });

  it('adds an unsampled traceparent to a call without one (ratio 0): written by the upstream encoder, unique per call, the same on a retry', () => {
    const headers = base.slice();
    const s = stream(headers);
    const t = tracer();
    t.begin(s, 'calc');
    expect(s.headers).toBe(headers);
    expect(s.added).toBe(MADE_TRACEPARENT);
    expect(s.observer).toBeUndefined();
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const sent = (seed: number) => {
      const block = Buffer.from(encoder.encode(headers, undefined, undefined, 0, MADE_TRACEPARENT, seed));
      const fields = decoder.decode(block);
      expect(fields.slice(0, headers.length)).toEqual(headers);
      return fields[fields.indexOf('traceparent') + 1];
    };
    const first = sent(s.addedSeed);
    expect(parseTraceparent(first)).toMatchObject({ sampled: false });
    expect(sent(s.addedSeed)).toBe(first); // a retry: the same trace
    const other = stream(base.slice());
    t.begin(other, 'calc');
    expect(other.addedSeed).toBe(s.addedSeed + 1);
    const second = parseTraceparent(sent(other.addedSeed))!;
    expect(second.traceId).not.toBe(parseTraceparent(first)!.traceId);
    expect(second.traceId.slice(0, 16)).toBe(parseTraceparent(first)!.traceId.slice(0, 16)); // this process's half
    const ids = new Set<string>();
    for (let seed = 1; seed <= 2000; seed++) ids.add(parseTraceparent(sent(seed * 65_537))!.traceId);
    expect(ids.size).toBe(2000);
  });

  it('adds nothing while nothing traces (ratio 0, no export): no made traceparent, an invalid one untouched', () => {
    const headers = base.slice();
    const s = stream(headers);
    tracer(0, false).begin(s, 'calc');
    expect(s.headers).toBe(headers);
    expect(s.added).toBeUndefined();
    const invalid = [...base, 'traceparent', 'not-a-trace-parent-header-at-all-but-long-enough-to-pass'];
    const t = stream(invalid);
    tracer(0, false).begin(t, 'calc');
    expect(t.headers).toBe(invalid);
    // A sampled caller is something tracing: the router's span still joins its trace.
    spans.length = 0;
    const sampled = stream([...base, 'traceparent', `00-${TRACE}-${PARENT}-01`]);
    tracer(0, false).begin(sampled, 'calc');
    expect(sampled.observer).toBeDefined();
    // A ratio above 0 traces too: the traces it starts, unsampled ones included, carry a traceparent.
    const started = stream(base.slice());
    tracer(0.000001, false).begin(started, 'calc');
    expect(started.added ?? started.headers.indexOf('traceparent') >= 0).toBeTruthy();
  });

  it('replaces an invalid traceparent with a new trace', () => {
    const s = stream([...base, 'traceparent', 'not-a-trace-parent-header-at-all-but-long-enough-to-pass']);
    tracer().begin(s, 'calc');
    expect(parseTraceparent(s.headers[s.headers.indexOf('traceparent') + 1])).toBeDefined();
  });

  it("records a sampled call's span and sends the router's span id on as the parent", () => {
    spans.length = 0;
    const s = stream([...base, 'traceparent', `00-${TRACE}-${PARENT}-01`]);
    tracer().begin(s, 'calc');
    const sent = parseTraceparent(s.headers[s.headers.indexOf('traceparent') + 1])!;
    expect(sent.traceId).toBe(TRACE);
    expect(sent.parentId).not.toBe(PARENT);
    expect(s.observer).toBeInstanceOf(CallSpan);
    const span = s.observer as CallSpan;
    span.attempted('calc-0');
    span.onEndSent(s, ['grpc-status', '14']);
    span.onClosed(s, 0);
    expect(spans).toEqual([
      expect.objectContaining({
        traceId: TRACE,
        spanId: sent.parentId,
        parentSpanId: PARENT,
        status: 14,
        ok: false,
        attributes: expect.objectContaining({
          'nerve.instance': 'calc-0',
          'rpc.method': 'Invoke',
          'nerve.attempts': 1,
        }),
      }),
    ]);
  });

  it('samples the traces it starts at the ratio; a reset before any answer is CANCELLED', () => {
    spans.length = 0;
    const s = stream(base.slice());
    tracer(1).begin(s, 'calc');
    (s.observer as CallSpan).onClosed(s, 8);
    expect(spans[0]).toMatchObject({ parentSpanId: '', status: 1 });
  });
});

describe('feature flags', () => {
  it('applies name=on|off pairs and lists every bad one', () => {
    expect(parseFeatures('dashboard=off, liveFeed', 'NERVE_FEATURES')).toEqual({
      ...DEFAULT_FEATURES,
      dashboard: false,
    });
    expect(() => parseFeatures('nope=on,dashboard=maybe', 'NERVE_FEATURES')).toThrow(
      /NERVE_FEATURES: no feature "nope" .*; NERVE_FEATURES: feature dashboard must be on or off, got "maybe"/,
    );
  });
});

import * as http from 'node:http';
import { OtlpExporter, otlpFromEnv } from '../../src/observability/otlp-exporter';
import type { Span } from '../../src/observability/span';
import { createLogger } from '../../src/observability/logger';

const logger = createLogger('test', 'silent');

function span(i: number): Span {
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: i.toString(16).padStart(16, '0'),
    parentSpanId: '',
    name: '/x.Y/Z',
    kind: 'server',
    startUnixMs: 1_700_000_000_000,
    durationMs: 1.5,
    status: 0,
    ok: true,
    attributes: { 'nerve.engine': 'calc', n: i },
  };
}

/** A collector answering `status`; what it received. */
async function collector(status: number): Promise<{ url: string; batches: unknown[]; close(): void }> {
  const batches: unknown[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      batches.push({ headers: req.headers, body: JSON.parse(body) as unknown });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/traces`,
    batches,
    close: () => server.close(),
  };
}

describe('the OTLP exporter', () => {
  it('reads the standard variables: the base endpoint gets /v1/traces, headers are decoded', () => {
    expect(otlpFromEnv({}, 'nerve-router')).toBeUndefined();
    expect(
      otlpFromEnv(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
          OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b,x=1',
        },
        'nerve-router',
      ),
    ).toEqual({
      url: 'http://collector:4318/v1/traces',
      serviceName: 'nerve-router',
      headers: { 'api-key': 'a b', x: '1' },
    });
    expect(
      otlpFromEnv(
        { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/t', OTEL_SERVICE_NAME: 'edge' },
        'nerve-router',
      ),
    ).toMatchObject({ url: 'http://c/t', serviceName: 'edge' });
  });

  it('batches spans into one OTLP/JSON request with the headers given', async () => {
    const c = await collector(200);
    try {
      const exporter = new OtlpExporter(
        { url: c.url, serviceName: 's', headers: { 'x-k': 'v' }, flushMs: 60_000 },
        logger,
      );
      for (let i = 1; i <= 3; i++) exporter.add(span(i));
      await exporter.flush();
      expect(c.batches).toHaveLength(1);
      const { headers, body } = c.batches[0] as {
        headers: Record<string, string>;
        body: {
          resourceSpans: {
            scopeSpans: {
              spans: { attributes: unknown[]; startTimeUnixNano: string; endTimeUnixNano: string }[];
            }[];
          }[];
        };
      };
      expect(headers['x-k']).toBe('v');
      const spans = body.resourceSpans[0].scopeSpans[0].spans;
      expect(spans).toHaveLength(3);
      expect(spans[0].startTimeUnixNano).toBe('1700000000000000000');
      expect(spans[0].endTimeUnixNano).toBe('1700000000001500000');
      expect(spans[0].attributes).toContainEqual({ key: 'n', value: { intValue: '1' } });
      expect(exporter.exported).toBe(3);
    } finally {
      c.close();
    }
  });

  it('drops (and counts) what the queue cannot hold and what a failing collector refused, without throwing', async () => {
    const c = await collector(503);
    try {
      const exporter = new OtlpExporter(
        { url: c.url, serviceName: 's', maxQueue: 2, batchSize: 100, flushMs: 60_000 },
        logger,
      );
      for (let i = 1; i <= 5; i++) exporter.add(span(i));
      expect(exporter.dropped).toBe(3);
      await exporter.flush();
      expect(exporter.dropped).toBe(5);
      expect(exporter.exported).toBe(0);
    } finally {
      c.close();
    }
  });
});

import type { Request, RequestHandler, Response } from 'express';
import type { Span } from '../observability/span';
import { newSpanId, type TraceContext } from '../observability/trace-context';
import type { Logger } from '../observability/logger';
import { TRACEPARENT, parseTraceparent } from '../observability/trace-context';

/**
 * One line per REST request when it ends, with its request id and, when the caller sent a W3C
 * traceparent, its trace id. Level `http` (below info: dashboards poll, so info would be noise) unless
 * the trace is sampled, which the caller asks to be recorded: then info. 5xx lines are errors already
 * (errorHandler). The trace id is in `res.locals.traceId` for the handlers' own lines. A sampled
 * request's server span goes to `onSpan` (OTLP export when configured).
 */
export function accessLog(logger: Logger, onSpan?: (span: Span) => void): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    const startUnixMs = Date.now();
    const trace = parseTraceparent(req.get(TRACEPARENT));
    if (trace) res.locals.traceId = trace.traceId;
    res.on('finish', () => {
      if (trace?.sampled && onSpan) onSpan(requestSpan(req, res, trace, startUnixMs, startedAt));
      const level = trace?.sampled ? 'info' : 'http';
      if (!logger.isLevelEnabled(level)) return;
      logger.log(level, 'request', {
        requestId: res.locals.requestId,
        traceId: trace?.traceId,
        parentSpanId: trace?.parentId,
        method: req.method,
        path: req.originalUrl.split('?', 1)[0],
        status: res.statusCode,
        durationMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
        from: req.socket.remoteAddress,
      });
    });
    next();
  };
}

/** The server span of a REST request in a sampled trace, named as OpenTelemetry's HTTP conventions say. */
function requestSpan(
  req: Request,
  res: Response,
  trace: TraceContext,
  startUnixMs: number,
  startedAt: number,
): Span {
  const route = (req.route as { path?: string } | undefined)?.path;
  const path = `${req.baseUrl}${route ?? req.path}`;
  return {
    traceId: trace.traceId,
    spanId: newSpanId(),
    parentSpanId: trace.parentId,
    name: `${req.method} ${path}`,
    kind: 'server',
    startUnixMs,
    durationMs: performance.now() - startedAt,
    status: res.statusCode,
    ok: res.statusCode < 500,
    attributes: {
      'http.request.method': req.method,
      'http.route': path,
      'http.response.status_code': res.statusCode,
      'nerve.request_id': String(res.locals.requestId),
    },
  };
}

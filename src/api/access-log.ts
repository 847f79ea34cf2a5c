import type { RequestHandler } from 'express';
import type { Logger } from '../observability/logger';
import { TRACEPARENT, parseTraceparent } from '../observability/trace-context';

/**
 * One line per REST request when it ends, with its request id and, when the caller sent a W3C
 * traceparent, its trace id. Level `http` (below info: dashboards poll, so info would be noise) unless
 * the trace is sampled, which the caller asks to be recorded: then info. 5xx lines are errors already
 * (errorHandler). The trace id is in `res.locals.traceId` for the handlers' own lines.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    const trace = parseTraceparent(req.get(TRACEPARENT));
    if (trace) res.locals.traceId = trace.traceId;
    res.on('finish', () => {
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

import type { ErrorRequestHandler, RequestHandler } from 'express';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { AdminContext } from '../../control-plane/commands/admin-context';
import { NerveError, type ErrorCode } from '../../model/errors';
import { asNerveError } from '../../store/as-nerve-error';
import { echo } from '../../model/echo';
import type { Logger } from '../../observability/logger';
import { principalOf } from './rest-auth';

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  ABORTED: 409,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
};

/** Every REST error has this body: {"error":{"code","message","details","requestId"}}. */
export function errorBody(code: string, message: string, details: readonly string[], requestId: string) {
  return { error: { code, message, details, requestId } };
}

/** Takes the caller's x-request-id or makes one, and echoes it, so logs and errors can be matched. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  const id = given && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.set('x-request-id', id);
  next();
};

/** Who calls over REST: the authenticated principal (the peer when auth is off), from where, the request id. */
export function contextOf(req: Request, res: Response): AdminContext {
  const from = req.socket.remoteAddress ?? 'unknown';
  const p = principalOf(res.locals);
  return {
    actor: p && p.via !== 'none' ? p.name : from,
    from,
    role: p?.role,
    via: 'rest',
    requestId: String(res.locals.requestId),
  };
}

export const notFound: RequestHandler = (req, res) => {
  res
    .status(404)
    .json(
      errorBody('NOT_FOUND', `no route ${req.method} ${echo(req.path)}`, [], String(res.locals.requestId)),
    );
};

/** Maps NerveError to its HTTP status; body-parser failures to 400; anything else to a sanitized 500. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (thrown: unknown, _req, res, _next) => {
    const id = String(res.locals.requestId);
    const err = asNerveError(thrown);
    if (err instanceof NerveError) {
      if (err.code === 'UNAUTHENTICATED') res.set('www-authenticate', 'Bearer realm="nerve"');
      if (err.retryAfterMs !== undefined)
        res.set('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
      res.status(HTTP_STATUS[err.code]).json(errorBody(err.code, err.message, err.details, id));
      return;
    }
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json(errorBody('INVALID_ARGUMENT', (err as Error).message, [], id));
      return;
    }
    logger.error('request failed', { requestId: id, error: err instanceof Error ? err.stack : String(err) });
    res
      .status(500)
      .json(errorBody('INTERNAL', 'internal error; see the control-plane log for this requestId', [], id));
  };
}

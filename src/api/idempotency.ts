import type { RequestHandler } from 'express';
import { NerveError } from '../model/errors';
import type { JsonValue } from '../model/config';
import type { ConfigStore } from '../store/config-store';
import { idempotencyId, scopedKey, withIdempotencyKey } from '../store/idempotency';
import { principalOf } from './http/rest-auth';

/**
 * `Idempotency-Key` on a write (POST, PUT, PATCH, DELETE), as payment APIs and the IETF draft define it:
 * the first attempt runs, and its change is recorded with the key in the same atomic commit; a retry
 * with the same key from the same caller runs nothing and gets the first answer again
 * (`Idempotency-Replayed: true`), or, when the first answer was lost (a timeout), the version it
 * committed. Keys are kept a day.
 */
export function idempotency(
  store: Pick<ConfigStore, 'idempotency' | 'rememberAnswer' | 'version'>,
): RequestHandler {
  return (req, res, next) => {
    const key = req.get('idempotency-key');
    if (key === undefined || req.method === 'GET' || req.method === 'HEAD') return next();
    if (key === '' || key.length > 255)
      return next(new NerveError('INVALID_ARGUMENT', 'Idempotency-Key must be 1 to 255 characters'));
    const scoped = scopedKey(principalOf(res.locals)?.name ?? req.socket.remoteAddress ?? '', key);
    const id = idempotencyId(scoped);
    store.idempotency(id).then((prior) => {
      if (prior) {
        res.set('idempotency-replayed', 'true');
        if (prior.status !== undefined) {
          res.status(prior.status);
          return prior.body === undefined ? res.end() : res.json(prior.body);
        }
        return res.status(200).json({
          replayed: true,
          version: prior.version,
          message: `applied at version ${prior.version} by an earlier attempt whose answer was lost; read the resource for its state`,
        });
      }
      let body: JsonValue | undefined;
      const json = res.json.bind(res);
      res.json = (b: unknown) => {
        body = b as JsonValue;
        return json(b);
      };
      res.on('finish', () => {
        if (res.statusCode < 200 || res.statusCode > 299) return;
        void store
          .rememberAnswer(id, { version: store.version(), status: res.statusCode, body })
          .catch(() => undefined);
      });
      withIdempotencyKey(scoped, () => next());
    }, next);
  };
}

import { type Request, type RequestHandler, type Response, Router } from 'express';
import type { z } from 'zod';
import type { Role } from '../../model/security/roles';

/** Who may call a route: anyone (health, the OpenAPI document, the docs page) or a role and above. */
export type Access = Role | 'public';
export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What the OpenAPI document says of a route; the schemas are the ones the handler validates with. */
export interface RouteDoc {
  readonly summary: string;
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly response?: z.ZodType;
  /** The success status (default 200). */
  readonly status?: number;
  /** What the response is when it is not JSON (text/plain, text/event-stream, text/html). */
  readonly produces?: string;
  /**
   * A status the route also answers with the success body, not an error (a health check's 503, which
   * load balancers read): the document gives that status both shapes.
   */
  readonly sameBodyStatus?: number;
}

export interface RouteSpec extends RouteDoc {
  readonly method: Method;
  /** Express path under /api/v1/nerve (`/engines/:name`). */
  readonly path: string;
  readonly access: Access;
}

/** Params are plain strings: no route uses a wildcard (`*name`), the only source of arrays. */
type Handler = (req: Request<Record<string, string>>, res: Response) => unknown;

/** Makes the middleware that authenticates a call and checks its role before a route's handler. */
export type Guard = (access: Access, what: string) => RequestHandler;

/**
 * Every REST route is declared here, with who may call it and its documentation: the table is what the
 * access check, the OpenAPI document and the auth tests are made from, so a route cannot exist without
 * a role and cannot be missing from the document.
 */
export class Routes {
  readonly router = Router();
  readonly specs: RouteSpec[] = [];

  /**
   * `body` parses a route's body (and handles what comes with it, as an Idempotency-Key): it runs after
   * the guard, so a body is read only for a caller that authenticated and holds the route's role (32 MiB
   * from an anonymous client is never parsed).
   */
  constructor(
    private readonly guard: Guard,
    private readonly body: (path: string) => RequestHandler[] = () => [],
  ) {}

  get(path: string, access: Access, doc: RouteDoc | string, handler: Handler): void {
    this.add('get', path, access, doc, handler);
  }
  post(path: string, access: Access, doc: RouteDoc | string, handler: Handler): void {
    this.add('post', path, access, doc, handler);
  }
  put(path: string, access: Access, doc: RouteDoc | string, handler: Handler): void {
    this.add('put', path, access, doc, handler);
  }
  patch(path: string, access: Access, doc: RouteDoc | string, handler: Handler): void {
    this.add('patch', path, access, doc, handler);
  }
  delete(path: string, access: Access, doc: RouteDoc | string, handler: Handler): void {
    this.add('delete', path, access, doc, handler);
  }

  private add(method: Method, path: string, access: Access, doc: RouteDoc | string, handler: Handler): void {
    const d = typeof doc === 'string' ? { summary: doc } : doc;
    this.specs.push({ ...d, method, path, access });
    // Express 5 passes a rejected promise to the error handler.
    this.router[method](
      path,
      this.guard(access, `${method.toUpperCase()} ${path}`),
      ...this.body(path),
      handler as RequestHandler,
    );
  }
}

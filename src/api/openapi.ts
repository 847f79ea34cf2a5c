import { z } from 'zod';
import type { RouteSpec } from './http/route-table';
import { errorSchema } from './http/schemas';

type Json = Record<string, unknown>;

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), as a caller sends it. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete s.$schema;
  return s;
}

const ERRORS: Record<number, string> = {
  400: 'invalid input: the message says what and where',
  401: 'no credentials, or credentials that do not verify',
  403: 'the credentials hold too low a role',
  404: 'no such object',
  409: 'a conflict: stale If-Match, or already exists',
  413: 'body too large',
  429: 'rate limit reached (Retry-After)',
  503: 'the configuration store is unreachable',
};

/** `/engines/:name` → `/engines/{name}`, and its path parameters. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const out = path.replace(/:(\w+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: out, params };
}

function operationId(r: RouteSpec): string {
  const words = `${r.method} ${r.path}`
    .replace(/:(\w+)/g, 'by $1')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return words.map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1))).join('');
}

function queryParameters(schema: z.ZodType | undefined): Json[] {
  if (!schema) return [];
  const s = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, prop]) => ({
    name,
    in: 'query',
    required: (s.required ?? []).includes(name),
    ...(typeof prop.description === 'string' && { description: prop.description }),
    schema: prop,
  }));
}

/**
 * The OpenAPI 3.1 document of the REST API, made from the route table: every route, who may call it
 * (`security`, and `x-nerve-role`), its parameters, and its body and answer schemas where the route
 * declares them (the same zod schemas the operations validate with).
 */
export function openApiDocument(routes: readonly RouteSpec[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const { path, params } = openApiPath(r.path);
    const status = String(r.status ?? 200);
    const success: Json =
      r.status === 204
        ? { description: r.summary }
        : r.produces
          ? { description: r.summary, content: { [r.produces]: { schema: { type: 'string' } } } }
          : {
              description: r.summary,
              content: {
                'application/json': {
                  schema: r.response ? jsonSchema(r.response, 'output') : { type: 'object' },
                },
              },
            };
    const errors = Object.fromEntries(
      Object.entries(ERRORS)
        .filter(([code]) => r.access !== 'public' || !['401', '403'].includes(code))
        .map(([code, description]) => [
          code,
          {
            description,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        ]),
    );
    paths[path] ??= {};
    paths[path][r.method] = {
      operationId: operationId(r),
      summary: r.summary,
      tags: [r.path.split('/')[1] ?? 'api'],
      'x-nerve-role': r.access,
      security: r.access === 'public' ? [] : [{ bearer: [] }, { apiKey: [] }],
      parameters: [
        ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...queryParameters(r.query),
      ],
      ...(r.body && {
        requestBody: {
          required: true,
          content: { 'application/json': { schema: jsonSchema(r.body, 'input') } },
        },
      }),
      responses: {
        [status]: success,
        ...errors,
        ...(r.sameBodyStatus !== undefined && {
          [String(r.sameBodyStatus)]: {
            description: `${r.summary}, when not healthy or ready; or ${ERRORS[r.sameBodyStatus] ?? 'an error'}`,
            content: {
              'application/json': {
                schema: {
                  anyOf: [
                    r.response ? jsonSchema(r.response, 'output') : { type: 'object' },
                    { $ref: '#/components/schemas/Error' },
                  ],
                },
              },
            },
          },
        }),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Nerve control plane REST API',
      version,
      description:
        'The admin operations of a Nerve control plane over HTTP/JSON; the same operations are on admin gRPC (nerve.admin.v1.Admin). Roles: viewer reads; operator also drains, scales, resets circuits, acknowledges alerts and runs rollouts; admin also changes specs, policies, alert rules, channels and API keys.',
    },
    servers: [{ url: '/api/v1/nerve' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: { Error: jsonSchema(errorSchema, 'output') },
    },
    paths,
  };
}

import * as protobuf from 'protobufjs';

/**
 * docs/API.md: the REST API from its OpenAPI document and admin gRPC from the protos, rendered to one
 * Markdown file (scripts/api-doc.mjs writes it; a test fails when the committed file is stale). Pure:
 * the caller supplies the document and the proto sources.
 */
type Json = unknown;
interface Operation {
  readonly summary: string;
  readonly 'x-nerve-role': string;
  readonly parameters: readonly { name: string; in: string; required?: boolean }[];
  readonly requestBody?: { content: { 'application/json': { schema: Schema } } };
  readonly responses: Record<string, { description: string }>;
}
interface Schema {
  readonly type?: string | string[];
  readonly properties?: Record<string, Schema>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly enum?: readonly unknown[];
  readonly anyOf?: readonly Schema[];
  readonly oneOf?: readonly Schema[];
  readonly description?: string;
}

export interface ProtoSource {
  /** Path under proto/, as imports name it (nerve/admin/v1/admin.proto). */
  readonly name: string;
  readonly source: string;
}

export function apiMarkdown(openapi: Json, protos: readonly ProtoSource[]): string {
  return [HEADER, rest(openapi as { paths: Record<string, Record<string, Operation>> }), grpc(protos)].join(
    '\n',
  );
}

const HEADER = `# Nerve API reference

Generated from the REST API's OpenAPI document (\`GET /api/v1/nerve/openapi.json\`, rendered at \`/docs\`)
and from the protos under \`proto/\` by \`npm run docs:api\`; a test fails when this file is stale.
Edit the route table (\`src/api/routes/\`) or the protos, not this file.

Credentials: \`Authorization: Bearer <JWT or API key>\` or \`X-API-Key\` (gRPC: the same as metadata).
Roles: **viewer** reads; **operator** also drains, scales, resets circuits, acknowledges alerts and runs
rollouts; **admin** also changes specs, policies, alert rules, channels and API keys, and operates the
process (log levels, profiles). Errors are \`{"error":{"code","message","details","requestId"}}\` with
the HTTP status of the gRPC code (400, 401, 403, 404, 409, 412, 413, 429, 503).
`;

function rest(doc: { paths: Record<string, Record<string, Operation>> }): string {
  const groups = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) {
      const group = path.split('/')[1] || 'api';
      const lines = groups.get(group) ?? [];
      const success = Object.keys(op.responses).find((s) => s.startsWith('2')) ?? '200';
      lines.push(
        `### ${method.toUpperCase()} /api/v1/nerve${path}`,
        '',
        `${op.summary}. Role: **${op['x-nerve-role']}**. Success: ${success}.`,
        '',
      );
      const query = op.parameters.filter((p) => p.in === 'query').map((p) => `\`${p.name}\``);
      if (query.length > 0) lines.push(`Query: ${query.join(', ')}.`, '');
      const body = op.requestBody?.content['application/json'].schema;
      if (body) lines.push('Body:', '', ...fields(body), '');
      groups.set(group, lines);
    }
  const out: string[] = [];
  for (const [group, lines] of [...groups].sort(([a], [b]) => a.localeCompare(b)))
    out.push(`## REST: ${group}`, '', ...lines);
  return out.join('\n');
}

/** A body's top-level fields: name, type, required, and what the schema says of it. */
function fields(schema: Schema): string[] {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const names = Object.keys(props);
  if (names.length === 0) return [`- ${typeOf(schema)}`];
  return names.map(
    (n) =>
      `- \`${n}\`: ${typeOf(props[n])}${required.has(n) ? ' (required)' : ''}${props[n].description ? `: ${props[n].description}` : ''}`,
  );
}

function typeOf(s: Schema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map(typeOf).join(' or ');
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'any'}`;
  if (Array.isArray(s.type)) return s.type.join(' or ');
  return s.type ?? 'any';
}

function grpc(protos: readonly ProtoSource[]): string {
  const root = new protobuf.Root();
  for (const p of protos) protobuf.parse(p.source, root, { keepCase: false, alternateCommentMode: true });
  root.resolveAll();
  const out = ['## gRPC', ''];
  const services: protobuf.Service[] = [];
  const walk = (ns: protobuf.NamespaceBase) => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Service) services.push(child);
      else if (child instanceof protobuf.Namespace) walk(child);
    }
  };
  walk(root);
  for (const service of services.sort((a, b) => a.fullName.localeCompare(b.fullName))) {
    out.push(`### ${service.fullName.slice(1)}`, '');
    if (service.comment) out.push(oneLine(service.comment), '');
    for (const m of service.methodsArray) {
      const stream = (yes: boolean | undefined) => (yes ? 'stream ' : '');
      out.push(
        `- \`${m.name}(${stream(m.requestStream)}${m.requestType}) returns (${stream(m.responseStream)}${m.responseType})\`${m.comment ? `: ${oneLine(m.comment)}` : ''}`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}

function oneLine(comment: string): string {
  return comment.replace(/\s*\n\s*/g, ' ').trim();
}

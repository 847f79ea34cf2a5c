import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as protobuf from 'protobufjs';
import { commands, words } from './doc-blocks';

const PROTO = join(__dirname, '..', '..', 'proto');

function protoFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? protoFiles(join(dir, e.name)) : e.name.endsWith('.proto') ? [join(dir, e.name)] : [],
  );
}

/** Every service and message of the repository's own protos, as grpcurl sees them through reflection. */
export function nerveProtos(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/')
      ? join(__dirname, '..', '..', 'node_modules', 'protobufjs', target)
      : join(PROTO, target);
  root.loadSync(
    protoFiles(PROTO).map((f) => relative(PROTO, f)),
    { keepCase: true },
  );
  root.resolveAll();
  return root;
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Fields of `json` that `type` has no field for (grpcurl takes proto names and their lowerCamel JSON names). */
function unknownFields(type: protobuf.Type, json: unknown, path: string): string[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return [`${path || 'the body'} is not an object`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const field = type.fieldsArray.find((f) => f.name === key || camel(f.name) === key);
    if (!field) {
      problems.push(`${type.fullName.slice(1)} has no field ${path}${key}`);
      continue;
    }
    if (
      field.resolvedType instanceof protobuf.Type &&
      !field.map &&
      !field.resolvedType.fullName.startsWith('.google.')
    )
      for (const v of field.repeated && Array.isArray(value) ? value : [value])
        problems.push(...unknownFields(field.resolvedType, v, `${path}${key}.`));
    if (field.type === 'bytes' && (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)))
      problems.push(`${path}${key} is bytes: grpcurl wants base64`);
  }
  return problems;
}

/**
 * What would make each grpcurl command of a block fail before it reaches a server: a method the protos
 * do not have, a body that is not JSON or names fields its request message does not have.
 */
export function grpcurlProblems(code: string, root: protobuf.Root): string[] {
  const problems: string[] = [];
  for (const command of commands(code)) {
    const w = words(command);
    if (w[0] !== 'grpcurl') continue;
    const target = w.at(-1)!;
    if (target === 'list' || target === 'describe') continue;
    const [service, method] = target.split('/');
    const svc = root.lookup(service);
    if (!(svc instanceof protobuf.Service) || !svc.methods[method]) {
      problems.push(`no method ${target} in proto/`);
      continue;
    }
    const d = w.indexOf('-d');
    if (d < 0) continue;
    let body: unknown;
    try {
      body = JSON.parse(w[d + 1]);
    } catch {
      problems.push(`${target}: -d is not JSON: ${w[d + 1]}`);
      continue;
    }
    const rpc = svc.methods[method];
    rpc.resolve();
    problems.push(...unknownFields(rpc.resolvedRequestType!, body, ''));
  }
  return problems;
}

import { existsSync } from 'node:fs';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';
import * as protobuf from 'protobufjs';

/**
 * FileDescriptorProtos as protoc makes them, from .proto files parsed by protobufjs: one per source
 * file, named by its import path, with its dependencies, snake_case field names with their json_name,
 * fully qualified type names, map entries as nested `FieldNameEntry` messages, proto3 optional fields
 * in their synthetic oneofs. What server reflection hands to grpcurl, grpc_cli or Python's
 * DescriptorPool, which check all of that (protobufjs's own toDescriptor merges files by package and
 * names map entries otherwise). Options (annotations such as Envoy's validate rules) are left out: no
 * client needs them to build or read a message.
 */

/** One file's descriptor, encoded, with what reflection looks it up by. */
export interface FileDescriptor {
  readonly name: string;
  readonly dependencies: readonly string[];
  readonly encoded: Uint8Array;
  /** Fully qualified names of every message, enum, service and method it defines. */
  readonly symbols: readonly string[];
}

/** Well-known types protobufjs bundles without a file name: their files, by type. */
const BUNDLED: Record<string, string> = {
  Any: 'any',
  Duration: 'duration',
  Timestamp: 'timestamp',
  Empty: 'empty',
  Struct: 'struct',
  Value: 'struct',
  ListValue: 'struct',
  NullValue: 'struct',
  FieldMask: 'field_mask',
  ...Object.fromEntries(
    ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map((t) => [
      `${t}Value`,
      'wrappers',
    ]),
  ),
};

const SCALAR: Record<string, number> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REPEATED = 3;

/** lower_snake → lowerCamel, as protoc's json_name. */
const jsonName = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
/** A map field's entry message name, as protoc names it: `metadata` → `MetadataEntry`. */
const entryName = (field: string) => {
  const camel = jsonName(field);
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
};
const fqn = (o: protobuf.ReflectionObject) => o.fullName.replace(/^\./, '');

/**
 * Descriptors of `files` (paths under `includeDirs`) and of every file they import, transitively.
 * `aliases`: canonical names of files kept elsewhere than their import path says.
 */
export function fileDescriptors(
  files: readonly string[],
  includeDirs: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): FileDescriptor[] {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const candidate = `${dir}/${target}`;
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(files as string[], { keepCase: true });
  root.resolveAll();
  const relative = (filename: string | null | undefined, o: protobuf.ReflectionObject): string => {
    if (!filename) return `google/protobuf/${BUNDLED[o.name] ?? 'descriptor'}.proto`;
    for (const dir of includeDirs)
      if (filename.startsWith(`${dir}/`)) {
        const name = filename.slice(dir.length + 1);
        return aliases[name] ?? name;
      }
    return filename;
  };

  const byFile = new Map<string, Builder>();
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type || o instanceof protobuf.Enum || o instanceof protobuf.Service) {
        const name = relative(o.filename, o);
        let b = byFile.get(name);
        if (b === undefined) byFile.set(name, (b = new Builder(name, fqn(ns as protobuf.ReflectionObject))));
        b.add(o, relative);
      } else if (o instanceof protobuf.Namespace) visit(o);
    }
  };
  visit(root);
  return [...byFile.values()].map((b) => b.build());
}

/** One file's descriptor in the making (top-level definitions only; nested ones come with their type). */
class Builder {
  private readonly messages: object[] = [];
  private readonly enums: object[] = [];
  private readonly services: object[] = [];
  private readonly deps = new Set<string>();
  private readonly symbols: string[] = [];
  private fileOf: (filename: string | null | undefined, o: protobuf.ReflectionObject) => string = () => '';

  constructor(
    private readonly name: string,
    private readonly pkg: string,
  ) {}

  add(
    o: protobuf.Type | protobuf.Enum | protobuf.Service,
    fileOf: (filename: string | null | undefined, o: protobuf.ReflectionObject) => string,
  ): void {
    this.fileOf = fileOf;
    if (o instanceof protobuf.Type) this.messages.push(this.message(o));
    else if (o instanceof protobuf.Enum) this.enums.push(this.enumOf(o));
    else this.services.push(this.service(o));
  }

  build(): FileDescriptor {
    this.deps.delete(this.name);
    const dependencies = [...this.deps].sort();
    const descriptor = FileDescriptorProto.create({
      name: this.name,
      package: this.pkg,
      dependency: dependencies,
      messageType: this.messages,
      enumType: this.enums,
      service: this.services,
      syntax: 'proto3',
    });
    const encoded = FileDescriptorProto.encode(descriptor).finish();
    return { name: this.name, dependencies, encoded, symbols: this.symbols };
  }

  /** A type used by a field or method: its fully qualified name, and its file is a dependency. */
  private ref(o: protobuf.ReflectionObject): string {
    this.deps.add(this.fileOf((o as protobuf.ReflectionObject & { filename?: string }).filename, o));
    return `.${fqn(o)}`;
  }

  private message(t: protobuf.Type): object {
    this.symbols.push(fqn(t));
    const nested: object[] = [];
    const enums: object[] = [];
    // proto3 `optional`: protobufjs makes a oneof "_name" of one field; protoc calls it synthetic, marks
    // the field proto3_optional, and puts synthetic oneofs after the real ones.
    const synthetic = (o: protobuf.OneOf) =>
      o.fieldsArray.length === 1 && o.name === `_${o.fieldsArray[0].name}`;
    const ordered = [...t.oneofsArray.filter((o) => !synthetic(o)), ...t.oneofsArray.filter(synthetic)];
    const oneofs = ordered.map((o) => ({ name: o.name }));
    const oneofIndex = new Map(ordered.map((o, i) => [o, i]));
    const fields = t.fieldsArray.map((f) => {
      const field: Record<string, unknown> = { name: f.name, number: f.id, jsonName: jsonName(f.name) };
      if (f instanceof protobuf.MapField) {
        const entry = entryName(f.name);
        nested.push({
          name: entry,
          field: [
            { name: 'key', number: 1, label: LABEL_OPTIONAL, type: SCALAR[f.keyType], jsonName: 'key' },
            { name: 'value', number: 2, label: LABEL_OPTIONAL, jsonName: 'value', ...this.typeOf(f) },
          ],
          options: { mapEntry: true },
        });
        return { ...field, label: LABEL_REPEATED, type: TYPE_MESSAGE, typeName: `.${fqn(t)}.${entry}` };
      }
      Object.assign(field, this.typeOf(f), { label: f.repeated ? LABEL_REPEATED : LABEL_OPTIONAL });
      if (f.partOf) {
        field.oneofIndex = oneofIndex.get(f.partOf);
        if (synthetic(f.partOf)) field.proto3Optional = true;
      }
      return field;
    });
    for (const n of t.nestedArray) {
      if (n instanceof protobuf.Type) nested.push(this.message(n));
      else if (n instanceof protobuf.Enum) enums.push(this.enumOf(n));
    }
    return {
      name: t.name,
      field: fields,
      nestedType: nested,
      enumType: enums,
      oneofDecl: oneofs,
      reservedName: (t.reserved ?? []).filter((r): r is string => typeof r === 'string'),
      reservedRange: (t.reserved ?? [])
        .filter((r): r is number[] => Array.isArray(r))
        .map(([start, end]) => ({ start, end: end + 1 })),
    };
  }

  private typeOf(f: protobuf.Field): Record<string, unknown> {
    const resolved = f.resolvedType;
    if (resolved instanceof protobuf.Type) return { type: TYPE_MESSAGE, typeName: this.ref(resolved) };
    if (resolved instanceof protobuf.Enum) return { type: TYPE_ENUM, typeName: this.ref(resolved) };
    return { type: SCALAR[f.type] };
  }

  private enumOf(e: protobuf.Enum): object {
    this.symbols.push(fqn(e));
    return { name: e.name, value: Object.entries(e.values).map(([name, number]) => ({ name, number })) };
  }

  private service(s: protobuf.Service): object {
    this.symbols.push(fqn(s));
    return {
      name: s.name,
      method: s.methodsArray.map((m) => {
        m.resolve();
        this.symbols.push(`${fqn(s)}.${m.name}`);
        return {
          name: m.name,
          inputType: this.ref(m.resolvedRequestType!),
          outputType: this.ref(m.resolvedResponseType!),
          clientStreaming: m.requestStream === true,
          serverStreaming: m.responseStream === true,
        };
      }),
    };
  }
}

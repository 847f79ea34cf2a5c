import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { NerveError } from '../model/errors';
import { authenticateOpen, authorize, type Authenticator, OPEN } from '../security/authenticator';
import { grpcCredentials, grpcPeer } from '../security/grpc-credentials';
import { dirname, join } from 'node:path';
import { ADS_PROTO } from '../protocol/ads';
import { type FileDescriptor, fileDescriptors } from '../protocol/descriptors';
import { ENVOY_INCLUDE_DIRS, HEALTH_PROTO, NERVE_PROTO_DIR } from '../protocol/proto-paths';

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) for every service on the control plane's
 * port, so grpcurl and grpc_cli need no proto files. Descriptors are protoc's shape, one per source
 * file with its dependencies (protocol/descriptors.ts); a file and the dependencies not yet sent on the
 * stream go out together, as grpc-go's server does.
 */

const FILES = [
  'nerve/admin/v1/admin.proto',
  'nerve/engine/v1/engine.proto',
  'nerve/report/v1/report_service.proto',
  'nerve/discovery/v1/resources.proto',
  ADS_PROTO,
  'envoy/service/load_stats/v3/lrs.proto',
  'envoy/service/status/v3/csds.proto',
  'health/v1/health.proto',
];
const HEALTH_FILE = 'health/v1/health.proto';
const SERVICES = [
  'nerve.admin.v1.Admin',
  'nerve.engine.v1.Engine',
  'nerve.report.v1.ReportService',
  'envoy.service.discovery.v3.AggregatedDiscoveryService',
  'envoy.service.load_stats.v3.LoadReportingService',
  'envoy.service.status.v3.ClientStatusDiscoveryService',
  'grpc.health.v1.Health',
];
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;
const UNIMPLEMENTED = 12;

interface ReflectionRequest {
  host?: string;
  message_request?: string;
  file_by_filename?: string;
  file_containing_symbol?: string;
  file_containing_extension?: { containing_type?: string };
  all_extension_numbers_of_type?: string;
  list_services?: string;
}

/** The reflection index: files by name and by the symbols they define. */
export class ReflectionIndex {
  readonly files = new Map<string, FileDescriptor>();
  private readonly symbols = new Map<string, FileDescriptor>();

  constructor(descriptors: readonly FileDescriptor[]) {
    for (const d of descriptors) {
      this.files.set(d.name, d);
      for (const s of d.symbols) this.symbols.set(s, d);
    }
  }

  static load(): ReflectionIndex {
    // grpc-health-check ships health.proto as health/v1/health.proto; its canonical import path (and
    // the name clients ask for) is grpc/health/v1/health.proto.
    const healthRoot = dirname(dirname(dirname(HEALTH_PROTO)));
    const includeDirs = [NERVE_PROTO_DIR, healthRoot, ...ENVOY_INCLUDE_DIRS];
    return new ReflectionIndex(
      fileDescriptors(FILES, includeDirs, { [HEALTH_FILE]: 'grpc/health/v1/health.proto' }),
    );
  }

  /** The file defining `symbol` (a package-qualified message, enum, service or method). */
  bySymbol(symbol: string): FileDescriptor | undefined {
    return this.symbols.get(symbol.replace(/^\./, ''));
  }

  /** `file` and what it depends on, transitively, leaving out what `sent` has (which it adds to). */
  withDependencies(file: FileDescriptor, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [file.encoded];
    sent.add(file.name);
    const walk = (f: FileDescriptor) => {
      for (const name of f.dependencies) {
        const dep = this.files.get(name);
        if (dep === undefined || sent.has(name)) continue;
        sent.add(name);
        out.push(dep.encoded);
        walk(dep);
      }
    };
    walk(file);
    return out;
  }
}

/** Adds both reflection services to `server`. */
export function addReflection(
  server: grpc.Server,
  auth: Authenticator = OPEN,
  index = ReflectionIndex.load(),
): void {
  const protoDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
  for (const version of ['v1', 'v1alpha']) {
    const pkg = grpc.loadPackageDefinition(
      protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
        includeDirs: [protoDir],
        keepCase: true,
        oneofs: true,
        longs: Number,
      }),
    ) as unknown as {
      grpc: { reflection: Record<string, { ServerReflection: { service: grpc.ServiceDefinition } }> };
    };
    const service = pkg.grpc.reflection[version].ServerReflection.service;
    server.addService(service, {
      ServerReflectionInfo: (call: grpc.ServerDuplexStream<ReflectionRequest, object>) => {
        const sent = new Set<string>();
        call.on('error', () => undefined);
        // With authentication on, the API's shape is for callers with a role, as the API is.
        const admitted = auth.enabled
          ? authenticateOpen(auth, grpcCredentials(call), grpcPeer(call).replace(/:\d+$/, '')).then((p) =>
              authorize(p, 'viewer', 'gRPC reflection'),
            )
          : Promise.resolve();
        admitted.catch((err: unknown) => {
          const e = err instanceof NerveError ? err : new NerveError('UNAUTHENTICATED', String(err));
          call.emit('error', {
            code:
              e.code === 'PERMISSION_DENIED'
                ? grpc.status.PERMISSION_DENIED
                : e.code === 'RESOURCE_EXHAUSTED'
                  ? grpc.status.RESOURCE_EXHAUSTED
                  : grpc.status.UNAUTHENTICATED,
            details: e.message,
          });
        });
        call.on(
          'data',
          (request: ReflectionRequest) =>
            void admitted.then(
              () => call.write(answer(index, request, sent)),
              () => undefined,
            ),
        );
        call.on(
          'end',
          () =>
            void admitted.then(
              () => call.end(),
              () => undefined,
            ),
        );
      },
    });
  }
}

function answer(index: ReflectionIndex, request: ReflectionRequest, sent: Set<string>): object {
  const base = { valid_host: request.host ?? '', original_request: request };
  const error = (code: number, message: string) => ({
    ...base,
    error_response: { error_code: code, error_message: message },
  });
  const files = (file: FileDescriptor | undefined, what: string) =>
    file === undefined
      ? error(NOT_FOUND, `${what} not found`)
      : { ...base, file_descriptor_response: { file_descriptor_proto: index.withDependencies(file, sent) } };
  switch (request.message_request) {
    case 'list_services':
      return { ...base, list_services_response: { service: SERVICES.map((name) => ({ name })) } };
    case 'file_by_filename': {
      const name = request.file_by_filename ?? '';
      return files(index.files.get(name), `file ${JSON.stringify(name.slice(0, 200))}`);
    }
    case 'file_containing_symbol': {
      const symbol = request.file_containing_symbol ?? '';
      return files(index.bySymbol(symbol), `symbol ${JSON.stringify(symbol.slice(0, 200))}`);
    }
    case 'file_containing_extension':
      return error(NOT_FOUND, 'no extensions are defined');
    case 'all_extension_numbers_of_type':
      return {
        ...base,
        all_extension_numbers_response: {
          base_type_name: request.all_extension_numbers_of_type ?? '',
          extension_number: [],
        },
      };
    case undefined:
      return error(INVALID_ARGUMENT, 'the request names nothing to look up');
    default:
      return error(UNIMPLEMENTED, `${request.message_request} is not supported`);
  }
}

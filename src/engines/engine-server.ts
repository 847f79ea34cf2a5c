import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import {
  EngineService,
  type EngineServer as EngineHandlers,
  type InvokeRequest,
  type InvokeResponse,
  type InvokeStreamRequest,
  type InvokeStreamResponse,
} from '../../gen/nerve/engine/v1/engine';
import type { Logger } from '../observability/logger';
import { TRACEPARENT, parseTraceparent } from '../observability/trace-context';
import { bindInsecure, bindTls, type TlsFiles, shutdownGracefully } from '../protocol/grpc-server';
import { COMPUTATIONS, ENGINE_TYPES } from './computations';
import { InvalidInputError } from './computations/computation';
import { OrcaSampler } from './orca-sampler';

/** Faults an engine can inject, for resilience tests and benchmarks; changeable at run time. */
export interface Faults {
  /** Added to every answer. */
  readonly delayMs?: number;
  /** A further delay drawn uniformly from 0 to this, per call: a known latency distribution. */
  readonly delayJitterMs?: number;
  /** Share of calls (0..1) that fail with `errorCode`. */
  readonly errorRate?: number;
  readonly errorCode?: grpc.status;
  /** Never answer (until the caller's deadline or cancel). */
  readonly hang?: boolean;
  /** Sent with injected errors as grpc-retry-pushback-ms (gRFC A6: negative means "do not retry"). */
  readonly retryPushbackMs?: number;
}

export interface EngineOptions {
  /** Demo engine type: which operations it answers. */
  readonly type: string;
  /** Engine it serves as (default: the type). */
  readonly name?: string;
  readonly version?: string;
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Serve over TLS; with a CA, callers (routers) must present a certificate it signed. */
  readonly tls?: TlsFiles;
}

/** A demo engine instance: nerve.engine.v1.Engine and grpc.health.v1.Health on one port. */
export class DemoEngine {
  readonly name: string;
  readonly version: string;
  private readonly server = new grpc.Server();
  private readonly health = new HealthImplementation({ '': 'SERVING', 'nerve.engine.v1.Engine': 'SERVING' });
  private readonly operations: readonly string[];
  private faults: Faults = {};
  /** This instance's load, sent to routers as ORCA trailers. */
  private readonly orca = new OrcaSampler();
  private boundPort = 0;

  constructor(private readonly options: EngineOptions) {
    const operations = ENGINE_TYPES.get(options.type);
    if (!operations)
      throw new Error(
        `unknown engine type "${options.type}" (known: ${[...ENGINE_TYPES.keys()].join(', ')})`,
      );
    this.operations = operations;
    this.name = options.name ?? options.type;
    this.version = options.version ?? 'v1';
    const handlers: EngineHandlers = {
      invoke: (call, callback) => {
        this.invocations++;
        this.noteTrace(call.metadata, call.request.operation);
        const fault = this.injectedFault();
        if (fault === 'hang') return;
        const answer = () => {
          const result = fault ?? this.run(call.request);
          if (result instanceof Error) callback(result);
          else callback(null, result, this.orca.trailer());
        };
        const delay = this.delayMs();
        if (delay > 0) setTimeout(answer, delay).unref();
        else answer();
      },
      invokeStream: (call: grpc.ServerDuplexStream<InvokeStreamRequest, InvokeStreamResponse>) => {
        call.on('data', (request: InvokeStreamRequest) => {
          const result = this.run(request);
          if (result instanceof Error) call.emit('error', result);
          else call.write(result);
        });
        call.on('end', () => call.end(this.orca.trailer()));
        call.on('error', () => undefined);
      },
    };
    this.server.addService(EngineService, handlers);
    this.health.addToServer(this.server);
  }

  /**
   * A call of a sampled trace (W3C traceparent, flag 01) gets an info line with the trace id and the
   * caller's span (the router's): what an engine of one's own would do with its tracer.
   */
  private noteTrace(metadata: grpc.Metadata, operation: string): void {
    const [value] = metadata.get(TRACEPARENT);
    const context = typeof value === 'string' ? parseTraceparent(value) : undefined;
    if (context?.sampled)
      this.options.logger.info('traced call', {
        traceId: context.traceId,
        parentSpanId: context.parentId,
        engine: this.name,
        instance: this.id,
        operation,
      });
  }

  /** What grpc.health.v1 answers, whatever calls do: health checks that are wrong (panic-mode tests). */
  setServing(serving: boolean): void {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', status);
    this.health.setStatus('nerve.engine.v1.Engine', status);
  }

  /** Replaces the injected faults ({} for none). */
  /** Unary calls received (tests: what a cache spared the engine). */
  invocations = 0;

  setFaults(faults: Faults): void {
    this.faults = faults;
  }

  private delayMs(): number {
    const { delayMs = 0, delayJitterMs = 0 } = this.faults;
    return delayMs + (delayJitterMs > 0 ? Math.random() * delayJitterMs : 0);
  }

  /** 'hang', an error to answer with, or undefined to compute normally. */
  private injectedFault(): 'hang' | grpc.ServiceError | undefined {
    const f = this.faults;
    if (f.hang) return 'hang';
    if (f.errorRate && Math.random() < f.errorRate) {
      const err = status(
        f.errorCode ?? grpc.status.UNAVAILABLE,
        `injected fault in ${this.name} instance ${this.id}`,
      );
      if (f.retryPushbackMs !== undefined)
        err.metadata.set('grpc-retry-pushback-ms', String(f.retryPushbackMs));
      return err;
    }
    return undefined;
  }

  get id(): string {
    return this.options.id;
  }

  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return `${this.options.host}:${this.boundPort}`;
  }

  async start(): Promise<this> {
    const { host, port, tls } = this.options;
    this.boundPort = tls
      ? await bindTls(this.server, host, port, tls)
      : await bindInsecure(this.server, host, port);
    this.options.logger.info('engine listening', {
      engine: this.name,
      type: this.options.type,
      id: this.id,
      version: this.version,
      address: this.address,
    });
    return this;
  }

  /** Reports NOT_SERVING (health checks take it out), finishes calls in flight, then closes. */
  async stop(graceMs = 5_000): Promise<void> {
    this.health.setStatus('', 'NOT_SERVING');
    this.health.setStatus('nerve.engine.v1.Engine', 'NOT_SERVING');
    await shutdownGracefully(this.server, graceMs);
  }

  /** Closes every connection at once, as a crash would (tests use it to kill an instance). */
  kill(): void {
    this.server.forceShutdown();
  }

  private run(request: InvokeRequest | InvokeStreamRequest): InvokeResponse | grpc.ServiceError {
    const computation = this.operations.includes(request.operation)
      ? COMPUTATIONS.get(request.operation)
      : undefined;
    if (!computation) {
      return status(
        grpc.status.INVALID_ARGUMENT,
        `engine "${this.name}" (type ${this.options.type}) has no operation "${request.operation}"; it has: ${this.operations.join(', ')}`,
      );
    }
    try {
      const payload = computation.run(request.payload);
      return { payload, instanceId: this.id, engine: this.name, version: this.version };
    } catch (err) {
      if (err instanceof InvalidInputError) return status(grpc.status.INVALID_ARGUMENT, err.message);
      this.options.logger.error('computation failed', { operation: request.operation, error: String(err) });
      return status(grpc.status.INTERNAL, `${request.operation} failed: ${String(err)}`);
    }
  }
}

function status(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

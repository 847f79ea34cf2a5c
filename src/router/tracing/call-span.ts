import type { H2Stream, StreamObserver } from '../../protocol/h2/stream';
import type { Span } from '../../observability/span';
import { headerValue } from '../http/headers';

/**
 * The router's span of one call of a sampled trace: from the request's arrival to the stream's close,
 * with the instance of the last attempt and the gRPC status sent to the client. Only sampled calls get
 * one, so unsampled calls allocate nothing for tracing.
 */
export class CallSpan implements StreamObserver {
  private readonly startedAt = performance.now();
  private readonly startUnixMs = Date.now();
  private status = -1;
  instance = '';
  attempts = 0;

  constructor(
    private readonly finish: (span: Span) => void,
    readonly traceId: string,
    readonly spanId: string,
    readonly parentSpanId: string,
    readonly engine: string,
    readonly method: string,
  ) {}

  /** Forward and hedged calls tell each attempt's instance. */
  attempted(instance: string): void {
    this.instance = instance;
    this.attempts++;
  }

  onEndSent(_stream: H2Stream, trailers: readonly string[]): void {
    const status = headerValue(trailers, 'grpc-status');
    this.status = status === undefined ? 2 : Number(status);
  }

  onClosed(_stream: H2Stream, code: number): void {
    // Reset before an answer: the client cancelled (or the connection went): CANCELLED.
    const status = this.status >= 0 ? this.status : code === 0 ? 2 : 1;
    const slash = this.method.lastIndexOf('/');
    this.finish({
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: this.parentSpanId,
      name: this.method,
      kind: 'server',
      startUnixMs: this.startUnixMs,
      durationMs: performance.now() - this.startedAt,
      status,
      ok: status === 0,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': this.method.slice(1, slash),
        'rpc.method': this.method.slice(slash + 1),
        'rpc.grpc.status_code': status,
        'nerve.engine': this.engine,
        'nerve.instance': this.instance,
        'nerve.attempts': this.attempts,
      },
    });
  }
}

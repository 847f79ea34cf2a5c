import * as http2 from 'node:http2';

/** grpc.health.v1 ServingStatus by its number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** gRPC status code names by number (for the reasons operators read). */
const CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** A HealthCheckRequest with service "" is an empty message: its gRPC frame is five zero bytes. */
const CHECK_FRAME = Buffer.alloc(5);
const CHECK_HEADERS = {
  ':method': 'POST',
  ':path': '/grpc.health.v1.Health/Check',
  'content-type': 'application/grpc',
  te: 'trailers',
};

/** What a check found: SERVING, another serving status, or an error ("CODE: details"). */
export type ProbeResult = { readonly status: string } | { readonly error: string };

/**
 * grpc.health.v1.Health/Check against one address, over one HTTP/2 connection kept between checks.
 * The leader probes every instance of the fleet every second or so; a general gRPC client costs a few
 * hundred microseconds of CPU per call (channels, interceptors, protobuf), this a request and two
 * small frames. The request is fixed; the response's status is read by hand (field 1, a varint).
 * A connection that fails or lets a check time out is dropped, so the next check connects afresh.
 */
export class HealthProbe {
  private session: http2.ClientHttp2Session | undefined;
  private connectError: string | undefined;

  constructor(readonly address: string) {}

  check(timeoutMs: number, done: (result: ProbeResult) => void): void {
    let finished = false;
    const finish = (result: ProbeResult) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(result);
    };
    const session = this.connect();
    const timer = setTimeout(() => {
      finish({ error: `DEADLINE_EXCEEDED: no answer within ${timeoutMs} ms` });
      this.drop(session);
    }, timeoutMs);
    let request: http2.ClientHttp2Stream;
    try {
      request = session.request(CHECK_HEADERS);
    } catch (err) {
      this.drop(session);
      return finish({ error: `UNAVAILABLE: ${this.connectError ?? String(err)}` });
    }
    let body: Buffer | undefined;
    let status: string | undefined;
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    const read = (headers: http2.IncomingHttpHeaders) => {
      const code = headers[':status'] as number | undefined;
      if (code !== undefined && code !== 200) status = String(code);
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
      if (headers['grpc-message'] !== undefined) grpcMessage = String(headers['grpc-message']);
    };
    request.on('response', read);
    request.on('trailers', read);
    request.on('data', (chunk: Buffer) => (body = body ? Buffer.concat([body, chunk]) : chunk));
    request.on('error', (err: Error) =>
      finish({ error: `UNAVAILABLE: ${this.connectError ?? err.message}` }),
    );
    request.on('close', () => {
      if (status !== undefined) return finish({ error: `UNAVAILABLE: HTTP status ${status}` });
      if (grpcStatus === undefined)
        return finish({
          error: `UNAVAILABLE: ${this.connectError ?? 'the connection closed before the answer'}`,
        });
      if (grpcStatus !== '0') {
        const code = CODE_NAMES[Number(grpcStatus)] ?? `code ${grpcStatus}`;
        return finish({ error: `${code}: ${decodeMessage(grpcMessage ?? '')}` });
      }
      finish(servingStatus(body));
    });
    request.end(CHECK_FRAME);
  }

  close(): void {
    if (this.session) this.drop(this.session);
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    this.connectError = undefined;
    const session = http2.connect(`http://${this.address}`);
    session.on('error', (err: Error) => {
      this.connectError = err.message;
      this.drop(session);
    });
    session.on('goaway', () => this.drop(session, false));
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    // The probe's connection does not keep the process alive.
    session.unref();
    this.session = session;
    return session;
  }

  /** Forgets a connection; `destroy` closes it at once (a failed or stuck one), else it ends gracefully. */
  private drop(session: http2.ClientHttp2Session, destroy = true): void {
    if (this.session === session) this.session = undefined;
    if (destroy) session.destroy();
    else session.close();
  }
}

/** A HealthCheckResponse's status: field 1 (tag 0x08), a varint; absent means UNKNOWN (0). */
function servingStatus(body: Buffer | undefined): ProbeResult {
  if (!body || body.length < 5) return { error: 'UNAVAILABLE: no response message' };
  const length = body.readUInt32BE(1);
  const message = body.subarray(5, 5 + length);
  for (let i = 0; i < message.length;) {
    const tag = message[i++];
    if (tag === 0x08) return { status: SERVING_STATUS[message[i]] ?? `status ${message[i]}` };
    // Another field: skip it (a varint, or length-delimited).
    if ((tag & 7) === 0) while (i < message.length && message[i++] & 0x80);
    else if ((tag & 7) === 2) i += 1 + message[i];
    else break;
  }
  return { status: 'UNKNOWN' };
}

function decodeMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

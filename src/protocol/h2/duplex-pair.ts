import { Duplex } from 'node:stream';

/**
 * One end of an in-process byte pipe: what one end writes, the other reads. It has the few members of a
 * socket an H2Connection asks for (`connecting`, `setNoDelay`), so a connection of ours can speak
 * HTTP/2 to a library's server without a port (grpc-js's connection injector): nothing outside the
 * process can reach that server.
 */
export class PipeEnd extends Duplex {
  other: PipeEnd | undefined;
  readonly connecting = false;
  readonly remoteAddress = 'in-process';

  setNoDelay(): this {
    return this;
  }

  override _read(): void {
    // Bytes are pushed as the other end writes them: HTTP/2 flow control bounds what is in flight.
  }

  // The other end reads on a tick of its own: a reader that answers from its read handler (HTTP/2's
  // SETTINGS ACK, WINDOW_UPDATE) must not find itself inside the writer's write.
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    process.nextTick(deliver, this.other, chunk);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    process.nextTick(deliver, this.other, null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    const other = this.other;
    this.other = undefined;
    if (other && !other.destroyed) other.destroy();
    done(err);
  }
}

function deliver(to: PipeEnd | undefined, chunk: Buffer | null): void {
  if (to !== undefined && !to.destroyed) to.push(chunk);
}

/** Two connected ends. */
export function pipePair(): [PipeEnd, PipeEnd] {
  const a = new PipeEnd();
  const b = new PipeEnd();
  a.other = b;
  b.other = a;
  return [a, b];
}

import type { AddedField } from './hpack/added-field';
import { Buffer } from 'node:buffer';
import { nextTick } from 'node:process';
import type * as net from 'node:net';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  Flag,
  FRAME_HEADER,
  FrameType,
  frame,
  writeFrameHeader,
} from './frames';
import { copyBytes } from './bytes';
import { HpackEncoder } from './hpack/encoder';
import type { H2Limits } from './limits';
import type { H2Stream } from './stream';
import { flushWhenReadDone, inRead } from './read-turn';

/**
 * Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2): a request carrying one is malformed. A
 * proxy never passes them on, nor an HTTP/1 Host or HTTP2-Settings header.
 */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);
const NEVER_SENT = new Set([...CONNECTION_SPECIFIC, 'host', 'http2-settings']);
const skipConnectionSpecific = (name: string): boolean => NEVER_SENT.has(name);
/** Frames written during one turn of the event loop go out in one write up to this size. */
const COALESCE_BYTES = 64 * 1024;
const WRITE_BUFFER = 32 * 1024;
/**
 * A new connection's write buffer: its greeting and small calls fit; the first turn that needs more
 * grows it to WRITE_BUFFER. A thousand idle connections do not hold 32 KiB each.
 */
const FIRST_WRITE_BUFFER = 1024;
/** Buffers this small are copied into the write buffer; larger ones are queued as they are. */
const COPY_BELOW = 4096;
/**
 * Bytes waiting for the socket past which DATA waits too, whatever the peer's windows say: a peer that
 * grants large windows and reads slowly holds the other side of the proxy back instead of filling the
 * router's memory (Envoy's per-connection buffer limit, 1 MiB by default).
 */
const SOCKET_HIGH_WATER = 1 << 20;
const EMPTY = Buffer.alloc(0);

/**
 * The sending half of an HTTP/2 connection: header blocks (HPACK, CONTINUATION past the peer's frame
 * size), DATA within the peer's windows and our socket's output limit (queued per stream otherwise, sent
 * when WINDOW_UPDATE or the socket's drain comes), and the coalescing of every frame written in one turn
 * of the event loop into one socket write. H2Connection adds receiving and the stream lifecycle.
 */
export abstract class H2Output {
  /** The peer's connection-level window for our DATA. */
  sendWindow = DEFAULT_WINDOW;
  peerMaxFrame = DEFAULT_MAX_FRAME;
  protected readonly encoder: HpackEncoder;
  /** Streams with DATA waiting on the connection window or a congested socket, oldest first. */
  protected blocked: Set<H2Stream> | undefined; // made when a stream first waits (most never do)
  private readonly out: Buffer[] = [];
  /**
   * Small frames are written here, one after the other, and leave in one buffer per turn of the event
   * loop: no allocation per frame.
   */
  private wbuf = Buffer.allocUnsafe(FIRST_WRITE_BUFFER);
  /**
   * The last view of the write buffer handed to the socket: calls on a connection repeat their write
   * sizes, and a view of the same bytes can go again once the kernel took the last (a view costs a
   * species lookup and an allocation).
   */
  private written: Buffer | undefined;
  /** Where the bytes not yet handed to the output list start: those before it go out as views. */
  private wstart = 0;
  private wpos = 0;
  private outBytes = 0;
  private flushQueued = false;
  private drainAwaited = false;
  destroyed = false;
  /** DATA frames sent: what the peer's WINDOW_UPDATEs may answer (FloodGuard). */
  dataFramesSent = 0;
  /**
   * A turn's frames up to this many bytes are joined into one write (one copy, one system call); more go
   * as they are (writev). A server whose large buffers are shared between connections (the same xDS
   * resources to every stream) sets 0: they are never copied.
   */
  coalesceBytes = COALESCE_BYTES;
  /**
   * Frames other than DATA, and of those control frames, queued since the last flush. DATA is bounded by
   * bytes (SOCKET_HIGH_WATER, the windows); what a peer can make us write without sending data itself
   * (HEADERS of answers, ACKs, resets, WINDOW_UPDATEs) is bounded by count.
   */
  private frames = 0;
  private controlFrames = 0;
  /** Frames, and control frames, handed to the socket that the kernel has not taken yet. */
  private backlogFrames = 0;
  private backlogControl = 0;

  constructor(
    readonly socket: net.Socket,
    readonly limits: H2Limits,
  ) {
    this.encoder = new HpackEncoder(limits.headerTableSize);
  }

  /** After our side of `stream` ended: closes or resets it as the roles require. */
  protected abstract maybeClosed(stream: H2Stream): void;

  abstract destroy(why: string, flush?: boolean): void;

  /** A limit broken: counted by reason, the connection closes at once (the peer may not be reading). */
  protected abstract violated(reason: string, why: string): void;

  /** A header block (HEADERS, then CONTINUATION frames if it exceeds the peer's frame size). */
  sendHeaders(
    stream: H2Stream,
    headers: readonly string[],
    extra: readonly string[] | undefined,
    endStream: boolean,
    added?: AddedField,
    addedSeed = 0,
  ): void {
    if (this.destroyed) return;
    const end = endStream ? Flag.END_STREAM : 0;
    const again =
      added === undefined ? this.encoder.repeat(headers, extra, skipConnectionSpecific) : undefined;
    if (again !== undefined && again.length <= this.peerMaxFrame && again.length < COPY_BELOW) {
      // The block sent last time for these very lists: straight into the write buffer.
      const at = this.reserve(FRAME_HEADER + again.length);
      writeFrameHeader(this.wbuf, at, again.length, FrameType.HEADERS, Flag.END_HEADERS | end, stream.id);
      this.wbuf.set(again, at + FRAME_HEADER);
      this.frames++;
    } else {
      this.sendHeaderBlock(stream, headers, extra, end, added, addedSeed);
    }
    if (endStream) {
      stream.localEnded = true;
      this.maybeClosed(stream);
    }
  }

  /** Encodes a header block and queues it: HEADERS, then CONTINUATION frames past the peer's frame size. */
  private sendHeaderBlock(
    stream: H2Stream,
    headers: readonly string[],
    extra: readonly string[] | undefined,
    end: number,
    added: AddedField | undefined,
    addedSeed: number,
  ): void {
    const size = this.encoder.encodeInto(
      headers,
      extra,
      skipConnectionSpecific,
      FRAME_HEADER,
      added,
      addedSeed,
    );
    const encoded = this.encoder.buffer; // shared by every encoder: taken before the next block
    const length = size - FRAME_HEADER;
    if (length <= this.peerMaxFrame) {
      this.frames++;
      writeFrameHeader(encoded, 0, length, FrameType.HEADERS, Flag.END_HEADERS | end, stream.id);
      if (size < COPY_BELOW) {
        const at = this.reserve(size); // first: it may replace the write buffer
        copyBytes(encoded, 0, size, this.wbuf, at);
      } else this.send(Buffer.from(encoded.subarray(0, size)));
    } else {
      const block = encoded.subarray(FRAME_HEADER, size);
      for (let at = 0; at < length; at += this.peerMaxFrame) {
        const last = at + this.peerMaxFrame >= length;
        const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
        const flags = (last ? Flag.END_HEADERS : 0) | (at === 0 ? end : 0);
        this.frames++;
        this.send(frame(type, flags, stream.id, block.subarray(at, at + this.peerMaxFrame)));
      }
    }
  }

  /** DATA now if the windows allow, else queued; false when some of it waits (onDrain follows). */
  sendData(stream: H2Stream, chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    if (stream.queue !== undefined && stream.queue.length > 0) {
      stream.queue.push(chunk);
      return false;
    }
    const n = chunk.length;
    if (n <= stream.sendWindow && n <= this.sendWindow && n <= this.peerMaxFrame && !this.congested) {
      stream.sendWindow -= n;
      this.sendWindow -= n;
      this.sendDataFrame(stream.id, chunk, 0);
      return true;
    }
    (stream.queue ??= []).push(chunk);
    return this.flushStream(stream, false);
  }

  /** Ends our side of the stream: trailers, or an empty DATA frame with END_STREAM. */
  sendEnd(stream: H2Stream, trailers: readonly string[]): void {
    if (trailers.length > 0) {
      this.sendHeaders(stream, trailers, undefined, true);
      return;
    }
    const at = this.reserve(FRAME_HEADER); // first: it may replace the write buffer
    writeFrameHeader(this.wbuf, at, 0, FrameType.DATA, Flag.END_STREAM, stream.id);
    this.dataFramesSent++;
    stream.localEnded = true;
    this.maybeClosed(stream);
  }

  /**
   * Sends what the windows allow of the stream's queue; then what ends the stream, if queued. True when
   * the queue is empty. `notify`: tell the handler it drained (not when its own write emptied it).
   */
  protected flushStream(stream: H2Stream, notify: boolean): boolean {
    const queue = stream.queue!;
    while (queue.length > 0) {
      const allowed = Math.min(stream.sendWindow, this.sendWindow, this.peerMaxFrame);
      if (allowed <= 0 || this.congested) {
        // A stream window is reopened by its own WINDOW_UPDATE; the others wake every blocked stream.
        if (this.sendWindow <= 0 || this.congested) (this.blocked ??= new Set()).add(stream);
        if (this.congested) this.awaitDrain();
        return false;
      }
      const head = queue[0];
      const n = Math.min(head.length, allowed);
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
      stream.sendWindow -= n;
      this.sendWindow -= n;
      this.sendDataFrame(stream.id, n === head.length ? head : head.subarray(0, n), 0);
    }
    const end = stream.queuedEnd;
    if (end !== undefined) {
      stream.queuedEnd = undefined;
      this.sendEnd(stream, end);
    } else if (notify) {
      stream.handler?.onDrain(stream);
    }
    return true;
  }

  /** Streams waiting on the connection window or a congested socket get another go, oldest first. */
  protected flushBlocked(): void {
    if (this.blocked === undefined) return;
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0 || this.congested) return;
      this.blocked.delete(stream);
      this.flushStream(stream, true);
    }
  }

  /** More than SOCKET_HIGH_WATER bytes are waiting for the socket: DATA waits (bounded by bytes, not frames). */
  private get congested(): boolean {
    return this.outBytes + this.socket.writableLength > SOCKET_HIGH_WATER;
  }

  private awaitDrain(): void {
    if (this.drainAwaited) return;
    this.drainAwaited = true;
    this.socket.once('drain', () => {
      this.drainAwaited = false;
      if (this.socket.writableLength === 0) this.backlogFrames = this.backlogControl = 0;
      this.flushBlocked();
    });
  }

  private sendDataFrame(id: number, payload: Buffer, flags: number): void {
    const at = this.reserve(FRAME_HEADER);
    writeFrameHeader(this.wbuf, at, payload.length, FrameType.DATA, flags, id);
    this.dataFramesSent++;
    this.send(payload); // small: copied; large: queued as it is (the caller's copy of bytes read, never written to)
  }

  /** A control frame (SETTINGS or PING ACK, RST_STREAM, PING, GOAWAY): counted against the outbound limits. */
  protected sendControl(buf: Buffer): void {
    this.frames++;
    this.controlFrames++;
    this.send(buf);
  }

  /** Any other whole frame (WINDOW_UPDATE, our SETTINGS). */
  protected sendFrame(buf: Buffer): void {
    this.frames++;
    this.send(buf);
  }

  /** Bytes this side holds for the peer: queued here and in the socket. */
  get outputBytes(): number {
    return this.outBytes + this.socket.writableLength;
  }

  /** Lets the write buffer go while the connection is idle (it is made again by the next frame). */
  releaseBuffers(): void {
    if (this.wpos === 0 && this.out.length === 0 && this.socket.writableLength === 0) {
      this.wbuf = EMPTY;
      this.written = undefined;
    }
  }

  /**
   * Queues a frame (or part of one) for the next write: small buffers are copied into the write buffer,
   * larger ones go as they are (the caller must not change them).
   */
  protected send(buf: Buffer): void {
    if (buf.length < COPY_BELOW) {
      const at = this.reserve(buf.length); // first: it may replace the write buffer
      copyBytes(buf, 0, buf.length, this.wbuf, at);
      return;
    }
    this.spill();
    this.out.push(buf);
    this.outBytes += buf.length;
    this.schedule();
  }

  /** `n` bytes at the end of the write buffer (n < COPY_BELOW + FRAME_HEADER): their offset. */
  private reserve(n: number): number {
    if (this.wpos + n > this.wbuf.length) this.makeRoom(n);
    const at = this.wpos;
    this.wpos += n;
    this.outBytes += n;
    this.schedule();
    return at;
  }

  /**
   * Room for `n` more bytes: a small (or released) buffer grows, keeping what it holds; a full one goes
   * to the output list as it is, and a new one takes over.
   * A released buffer comes back small, from Node's shared pool: an xDS stream woken by a push writes a
   * few hundred bytes of frames around a resource block that is queued as it is, and ten thousand such
   * connections each allocating 32 KiB of its own per push cost more than the push.
   */
  private makeRoom(n: number): void {
    const live = this.wpos - this.wstart;
    const size =
      this.wbuf.length < WRITE_BUFFER
        ? Math.min(WRITE_BUFFER, Math.max(FIRST_WRITE_BUFFER, 2 * this.wbuf.length, live + n))
        : WRITE_BUFFER;
    if (live + n <= size && this.wbuf.length < WRITE_BUFFER) {
      const grown = Buffer.allocUnsafe(size);
      if (live > 0) this.wbuf.copy(grown, 0, this.wstart, this.wpos);
      this.wbuf = grown;
      this.wstart = 0;
      this.wpos = live;
    } else {
      this.spill();
      this.wbuf = Buffer.allocUnsafe(size);
      this.wstart = this.wpos = 0;
    }
    this.written = undefined;
  }

  /**
   * What the write buffer holds goes to the output list as a view, not a copy: the buffer is written on
   * from there, and only made again when a write leaves those bytes waiting (flushNow).
   */
  private spill(): void {
    if (this.wpos === this.wstart) return;
    this.out.push(this.wbuf.subarray(this.wstart, this.wpos));
    this.wstart = this.wpos;
  }

  private schedule(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    if (inRead()) flushWhenReadDone(this);
    else nextTick(flushOut, this);
  }

  private outboundFlood(): void {
    if (this.backlogControl > this.limits.maxOutboundControlFrames)
      return this.violated(
        'outbound_control_frames',
        `more than ${this.limits.maxOutboundControlFrames} control frames unsent: the peer asks for them and does not read`,
      );
    this.violated(
      'outbound_frames',
      `more than ${this.limits.maxOutboundFrames} frames unsent: the peer does not read`,
    );
  }

  /** Writes what is queued now (also what a turn of the event loop gathered). */
  flushNow(): void {
    this.flushQueued = false;
    const out = this.out;
    const socket = this.socket;
    // Frames queued and not yet taken by the kernel are bounded, as Envoy bounds its output buffer: a
    // turn's own frames count (a read of 7,000 PINGs queues 7,000 ACKs), and so do those left unsent.
    const unsent = socket.writableLength; // a getter: read once
    if (unsent === 0) {
      this.backlogFrames = this.frames;
      this.backlogControl = this.controlFrames;
    } else {
      this.backlogFrames += this.frames;
      this.backlogControl += this.controlFrames;
    }
    if (
      this.backlogFrames > this.limits.maxOutboundFrames ||
      this.backlogControl > this.limits.maxOutboundControlFrames
    )
      return this.outboundFlood();
    this.frames = this.controlFrames = 0;
    if (out.length === 0 && this.wpos > 0 && unsent === 0 && !socket.connecting) {
      // The common case, all of it in the write buffer and nothing waiting before it: written as it is, no
      // copy. The kernel takes it at once, as a rule, and the buffer is ours again; when the write has to
      // wait instead, the buffer goes with it and a new one is made (once: from then on the socket has
      // bytes waiting, and what follows is copied out, sized to fit).
      const n = this.wpos;
      this.wpos = 0;
      this.outBytes = 0;
      if (socket.destroyed) return;
      let view = this.written;
      if (view === undefined || view.length !== n) this.written = view = this.wbuf.subarray(0, n);
      socket.write(view);
      if (socket.writableLength > 0) {
        this.wbuf = Buffer.allocUnsafe(this.wbuf.length);
        this.written = undefined; // it stays with the pending write
      }
      return;
    }
    this.spill();
    if (out.length === 0 || socket.destroyed) {
      out.length = 0;
      this.outBytes = 0;
      this.wstart = this.wpos = 0;
      return;
    }
    if (this.socket.writableLength > this.limits.maxConnectionMemory)
      return this.violated(
        'memory',
        `the peer is not reading: ${this.socket.writableLength} bytes unsent (maxConnectionMemory ${this.limits.maxConnectionMemory})`,
      );
    let copied = false;
    if (out.length === 1) {
      this.socket.write(out[0]);
    } else if (this.outBytes <= this.coalesceBytes) {
      this.socket.write(Buffer.concat(out, this.outBytes));
      copied = true;
    } else {
      this.socket.cork();
      for (const buf of out) this.socket.write(buf);
      this.socket.uncork();
    }
    out.length = 0;
    this.outBytes = 0;
    // The write buffer's bytes went out as views: it is ours again once the kernel took them, else
    // they stay with the pending write and a new buffer takes over.
    if (this.wstart > 0 && !copied && this.socket.writableLength > 0) {
      this.wbuf = Buffer.allocUnsafe(this.wbuf.length);
      this.written = undefined;
    }
    this.wstart = this.wpos = 0;
  }
}

function flushOut(conn: H2Output): void {
  conn.flushNow();
}

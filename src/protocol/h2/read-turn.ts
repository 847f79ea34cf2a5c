import { nextTick } from 'node:process';
/**
 * The turn of a read: frames written while bytes read are handled leave when that read is done. Bytes
 * read on one connection are forwarded on another, so the outputs a read touched are flushed together
 * at its end, without a nextTick per connection per read (an allocation, and a trip through Node's tick
 * queue); work that must see the whole read first (afterRead) runs just before. Frames written at any
 * other time (timers, retries, the admission queue) leave at the next tick. H2Connection.onBytes
 * brackets each read with readStarted/readDone.
 */

/** Whatever can write what it queued (an H2Output). */
export interface Flushable {
  flushNow(): void;
}

// The lists keep their length from read to read (setting length = 0 would make V8 shrink and regrow
// them, an allocation per call); entries are counted, and cleared once used.
let readDepth = 0;
const written: (Flushable | undefined)[] = [];
let writtenCount = 0;
/** Work to do once the read being handled is done (callbacks and their arguments, in order). */
const laterFns: (((arg: never) => void) | undefined)[] = [];
const laterArgs: unknown[] = [];
let laterCount = 0;

/**
 * Runs `fn(arg)` once the bytes being read are all handled (before their writes leave), or at the next
 * tick outside a read: what must see the rest of a read first, without a nextTick per call.
 */
export function afterRead<T>(fn: (arg: T) => void, arg: T): void {
  if (readDepth === 0) {
    nextTick(fn, arg);
    return;
  }
  laterFns[laterCount] = fn as (arg: never) => void;
  laterArgs[laterCount++] = arg;
}

/** Whether bytes read are being handled now. */
export function inRead(): boolean {
  return readDepth > 0;
}

/** `out` queued frames during this read: they leave at readDone(). */
export function flushWhenReadDone(out: Flushable): void {
  written[writtenCount++] = out;
}

/**
 * Runs `fn(arg)` as a turn of its own (outside a read): what it writes leaves when it returns, not at
 * the next tick. Work done in time slices (a push to a fleet) then counts its writes in its slice.
 */
export function writeThrough<T>(fn: (arg: T) => void, arg: T): void {
  readStarted();
  try {
    fn(arg);
  } finally {
    readDone();
  }
}

/** Bytes read are being handled: what is written meanwhile waits for readDone(). */
export function readStarted(): void {
  readDepth++;
}

/** The bytes read are handled: runs what waited for that, then writes what they queued, on every connection. */
export function readDone(): void {
  // try/finally: an exception thrown here must not leave later reads waiting for a flush that never comes.
  try {
    if (readDepth === 1) runLater(); // still inside the read: what these write leaves with the read's frames
  } finally {
    if (--readDepth === 0) flushWritten();
  }
}

// Each entry runs even if one before it throws (a bug): the first exception is rethrown after.

function runLater(): void {
  let failure: { error: unknown } | undefined;
  for (let i = 0; i < laterCount; i++) {
    const fn = laterFns[i] as (arg: unknown) => void;
    const arg = laterArgs[i];
    laterFns[i] = undefined;
    laterArgs[i] = undefined;
    try {
      fn(arg);
    } catch (error) {
      failure ??= { error };
    }
  }
  laterCount = 0;
  if (failure) throw failure.error;
}

function flushWritten(): void {
  // Anything queued by these flushes themselves (a connection closing) goes at the next tick.
  let failure: { error: unknown } | undefined;
  for (let i = 0; i < writtenCount; i++) {
    const out = written[i]!;
    written[i] = undefined;
    try {
      out.flushNow();
    } catch (error) {
      failure ??= { error };
    }
  }
  writtenCount = 0;
  if (failure) throw failure.error;
}

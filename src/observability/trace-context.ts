import { randomFillSync } from 'node:crypto';

/**
 * W3C Trace Context (`traceparent: 00-<trace-id>-<parent-id>-<flags>`), the parts Nerve needs: parse a
 * header a client sent, make a new one when none came, and ids for spans. Pure but for the random pool.
 */
export const TRACEPARENT = 'traceparent';

export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** The caller's span (16 hex digits): the parent of ours. */
  readonly parentId: string;
  /** Flag bit 0: the caller records this trace, so we do too. */
  readonly sampled: boolean;
}

const HEADER = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * The context of a traceparent header; undefined when it is absent or invalid (then the receiver starts
 * a new trace, as the W3C recommendation says). Version ff is invalid; a later version is read by its
 * version-00 prefix.
 */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  if (value === undefined) return undefined;
  const m = HEADER.exec(value.trim());
  if (!m || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return undefined;
  if (m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return undefined;
  return { traceId: m[2], parentId: m[3], sampled: (parseInt(m[4], 16) & 1) === 1 };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

/**
 * Random ids from a pool refilled 4 KiB at a time: one crypto call per ~170 ids instead of one per id
 * (span ids of sampled calls and REST requests, traces the router starts sampled).
 */
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}

export function newSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** The traceparent being made: its dashes and version stay, its ids and flags are written over. */
const LINE = Buffer.from(`00-${ZERO_TRACE}-${ZERO_SPAN}-00`, 'latin1');

/**
 * A whole new traceparent (trace and span ids) for a call that came without one. The router makes one per
 * such call, so it is written as bytes and read back as one flat string: a string built by concatenation
 * is a rope, which the HPACK encoder's per-character copy walks at several times the cost.
 */
export function newTraceparent(sampled: boolean): string {
  if (offset + 24 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  let at = 3;
  for (let i = 0; i < 24; i++) {
    if (i === 16) at++; // the dash between the trace id and the span id
    const b = pool[offset + i];
    LINE[at++] = HEX_DIGITS[b >> 4];
    LINE[at++] = HEX_DIGITS[b & 15];
  }
  offset += 24;
  LINE[54] = sampled ? 0x31 : 0x30;
  return LINE.toString('latin1', 0, 55);
}

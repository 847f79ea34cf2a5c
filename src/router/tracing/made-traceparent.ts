import { randomBytes } from 'node:crypto';
import { type AddedField, addedField } from '../../protocol/h2/hpack/added-field';
import { TRACEPARENT } from '../../observability/trace-context';

/** Byte → its two hex digits as one 16-bit big-endian number (written with one store). */
const HEX_PAIRS = Uint16Array.from({ length: 256 }, (_, b) => {
  const hex = b.toString(16).padStart(2, '0');
  return (hex.charCodeAt(0) << 8) | hex.charCodeAt(1);
});
/** This process's half of every trace id it makes: 8 random bytes as 16 hex digits, in 32-bit words. */
const PROCESS_HEX = Buffer.from(randomBytes(8).toString('hex'), 'latin1');
const [HALF_0, HALF_1, HALF_2, HALF_3] = [0, 4, 8, 12].map((i) => PROCESS_HEX.readUInt32BE(i));
/** "00": the version, and the flags (not sampled). */
const ZERO_ZERO = 0x3030;
const DASH = 0x2d;

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The 8 hex digits of `v` (32 bits) at byte `at`. */
function hex32(out: DataView, at: number, v: number): void {
  out.setUint16(at, HEX_PAIRS[v >>> 24]);
  out.setUint16(at + 2, HEX_PAIRS[(v >>> 16) & 255]);
  out.setUint16(at + 4, HEX_PAIRS[(v >>> 8) & 255]);
  out.setUint16(at + 6, HEX_PAIRS[v & 255]);
}

/**
 * The traceparent a router sends with a call that came without one and is not sampled: written into
 * the upstream header block from the call's sequence number, with no string made (the router makes one
 * for most calls). Trace id: this process's 8 random bytes, then the sequence mixed (a bijection of
 * it, so unique per call); parent id: the sequence mixed another way. `00-<32>-<16>-00`: 55 bytes. The
 * same seed writes the same value, so a retried call carries the same trace.
 */
export const MADE_TRACEPARENT: AddedField = addedField(TRACEPARENT, 55, (out, at, seed) => {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
  out.setUint16(at, ZERO_ZERO);
  out.setUint8(at + 2, DASH);
  out.setUint32(at + 3, HALF_0);
  out.setUint32(at + 7, HALF_1);
  out.setUint32(at + 11, HALF_2);
  out.setUint32(at + 15, HALF_3);
  hex32(out, at + 19, mix(lo ^ 0x9e3779b9));
  hex32(out, at + 27, mix(hi ^ 0x7f4a7c15) ^ lo);
  out.setUint8(at + 35, DASH);
  hex32(out, at + 36, mix(lo ^ 0x2545f491));
  hex32(out, at + 44, mix(hi ^ 0x6a09e667));
  out.setUint8(at + 52, DASH);
  out.setUint16(at + 53, ZERO_ZERO);
});

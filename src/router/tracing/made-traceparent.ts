import { randomBytes } from 'node:crypto';
import type { AddedField } from '../../protocol/h2/added-field';
import { TRACEPARENT } from '../../observability/trace-context';

/** Byte → its two hex digits, at 2 × byte. */
const HEX_PAIRS = Buffer.from(
  Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0')).join(''),
  'latin1',
);
/** This process's half of every trace id it makes: 8 random bytes, as hex. */
const PROCESS_HALF = Buffer.from(randomBytes(8).toString('hex'), 'latin1');
const DASH = 0x2d;
const ZERO = 0x30;

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The 8 hex digits of `v` (32 bits) at out[at]. */
function hex32(out: Uint8Array, at: number, v: number): void {
  for (let i = 6; i >= 0; i -= 2) {
    const pair = (v & 255) << 1;
    out[at + i] = HEX_PAIRS[pair];
    out[at + i + 1] = HEX_PAIRS[pair + 1];
    v >>>= 8;
  }
}

/**
 * The traceparent a router sends with a call that came without one and is not sampled: written into
 * the upstream header block from the call's sequence number, with no string made (the router makes one
 * for most calls). Trace id: this process's 8 random bytes, then the sequence mixed (a bijection of
 * it, so unique per call); parent id: the sequence mixed another way. `00-<32>-<16>-00`: 55 bytes. The
 * same seed writes the same value, so a retried call carries the same trace.
 */
export const MADE_TRACEPARENT: AddedField = {
  name: TRACEPARENT,
  length: 55,
  write(out, at, seed) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
    out[at] = ZERO;
    out[at + 1] = ZERO;
    out[at + 2] = DASH;
    out.set(PROCESS_HALF, at + 3);
    hex32(out, at + 19, mix(lo ^ 0x9e3779b9));
    hex32(out, at + 27, mix(hi ^ 0x7f4a7c15) ^ lo);
    out[at + 35] = DASH;
    hex32(out, at + 36, mix(lo ^ 0x2545f491));
    hex32(out, at + 44, mix(hi ^ 0x6a09e667));
    out[at + 52] = DASH;
    out[at + 53] = ZERO;
    out[at + 54] = ZERO;
  },
};

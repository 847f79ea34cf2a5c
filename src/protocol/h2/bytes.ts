/** Copies shorter than this that need a view of the source go by a loop instead. */
const LOOP_BELOW = 96;

/**
 * Copies src[start, end) into dst at `at`, the cheapest way V8 offers for the router's copies (frame
 * payloads and header blocks, mostly a few dozen bytes; instructions counted by callgrind, Node 20):
 * a whole source goes by TypedArray#set (about 120 instructions, then a memmove); part of one needs a
 * view for that (Buffer#subarray: about 800), so up to ~100 bytes a loop is cheaper (9 to 18 a byte).
 * Buffer#copy checks its arguments in JavaScript and makes a view itself: about 1,200 for 36 bytes.
 */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  if (start === 0 && end === src.length) {
    dst.set(src, at);
    return;
  }
  const n = end - start;
  if (n < LOOP_BELOW) {
    for (let i = 0; i < n; i++) dst[at + i] = src[start + i];
    return;
  }
  dst.set(src.subarray(start, end), at);
}

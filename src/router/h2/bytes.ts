/** Copies at most this many bytes with a loop; longer copies go to TypedArray#set. */
const LOOP_BELOW = 64;

/**
 * Copies src[start, end) into dst at `at`. The router's copies are mostly a few dozen bytes (frame
 * headers, header blocks, small messages), for which a loop costs less than Buffer#copy, which checks its
 * arguments and makes a view of the source per call.
 */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  const n = end - start;
  if (n < LOOP_BELOW) {
    for (let i = 0; i < n; i++) dst[at + i] = src[start + i];
    return;
  }
  dst.set(start === 0 && end === src.length ? src : src.subarray(start, end), at);
}

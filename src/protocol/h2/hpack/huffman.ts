import { Buffer } from 'node:buffer';
import { HUFFMAN_BITS, HUFFMAN_CODES } from './huffman-code';

const EOS = 256;

/**
 * The code as a binary tree in flat arrays: node n's children are CHILD[2n] (bit 0) and CHILD[2n + 1]
 * (bit 1); a child below 0 is the leaf of symbol ~child. Built once, at load: 256 inner nodes.
 */
const CHILD = buildTree();

function buildTree(): Int32Array {
  const child = new Int32Array(2 * 512);
  let nodes = 1; // node 0 is the root; 0 as a child means "none yet"
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol];
    let node = 0;
    for (let bit = HUFFMAN_BITS[symbol] - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (bit === 0) {
        child[slot] = ~symbol;
      } else {
        if (child[slot] === 0) child[slot] = nodes++;
        node = child[slot];
      }
    }
  }
  return child;
}

let scratch = Buffer.allocUnsafe(256);

/**
 * Decodes a Huffman-coded string literal (latin1: header octets as they are). Throws on what RFC 7541
 * §5.2 calls a decoding error: EOS in the string, or padding longer than 7 bits or not all ones.
 */
export function huffmanDecode(src: Buffer, start: number, end: number): string {
  // Codes are at least 5 bits: at most 8/5 symbols per input byte.
  const most = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < most) scratch = Buffer.allocUnsafe(most * 2);
  let out = 0;
  let node = 0;
  let depth = 0; // bits read since the last symbol
  let allOnes = true; // ... and whether they were all ones (valid padding)
  for (let i = start; i < end; i++) {
    const byte = src[i];
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1;
      const next = CHILD[2 * node + b];
      depth++;
      allOnes &&= b === 1;
      if (next < 0) {
        const symbol = ~next;
        if (symbol === EOS) throw new Error('HPACK: EOS symbol inside a Huffman string');
        scratch[out++] = symbol;
        node = 0;
        depth = 0;
        allOnes = true;
      } else {
        node = next;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new Error('HPACK: invalid Huffman padding');
  return scratch.toString('latin1', 0, out);
}

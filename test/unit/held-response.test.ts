import { HeldResponse } from '../../src/router/proxy/held-response';

/** A gRPC message of n bytes: flag, 4-byte length, payload. */
const message = (n: number) => {
  const m = Buffer.alloc(5 + n, 'm');
  m[0] = 0;
  m.writeUInt32BE(n, 1);
  return m;
};

describe('the held start of a response', () => {
  it('holds one whole message, even with its prefix split over chunks', () => {
    const m = message(300);
    const held = new HeldResponse([':status', '200']);
    expect(held.add(m.subarray(0, 3))).toBe(true);
    expect(held.add(m.subarray(3, 100))).toBe(true);
    expect(held.add(m.subarray(100))).toBe(true);
    expect(Buffer.concat(held.chunks).equals(m)).toBe(true);
  });

  it('lets go at the first byte of a second message: the response is a stream', () => {
    const held = new HeldResponse([]);
    expect(held.add(message(10))).toBe(true);
    expect(held.add(message(10).subarray(0, 1))).toBe(false);
  });

  it('lets go past 64 KiB, however long the first message says it is', () => {
    const held = new HeldResponse([]);
    const big = message(70_000);
    expect(held.add(big.subarray(0, 60_000))).toBe(true);
    expect(held.add(big.subarray(60_000))).toBe(false);
  });
});

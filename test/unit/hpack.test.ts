import { HpackDecoder, HpackError } from '../../src/protocol/h2/hpack/decoder';
import { HpackEncoder } from '../../src/protocol/h2/hpack/encoder';
import { huffmanDecode } from '../../src/protocol/h2/hpack/huffman';
import { addedField } from '../../src/protocol/h2/hpack/added-field';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const pairs = (flat: readonly string[]) =>
  Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]);

describe('HPACK (RFC 7541)', () => {
  it('decodes the Appendix C.3 requests (no Huffman) with the dynamic table', () => {
    const d = new HpackDecoder();
    expect(pairs(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(pairs(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865')))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(
      pairs(d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'))),
    ).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('decodes the Appendix C.4 requests (Huffman)', () => {
    const d = new HpackDecoder();
    expect(pairs(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
    ]);
    expect(pairs(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')))).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [':authority', 'www.example.com'],
      ['cache-control', 'no-cache'],
    ]);
    expect(pairs(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')))).toEqual([
      [':method', 'GET'],
      [':scheme', 'https'],
      [':path', '/index.html'],
      [':authority', 'www.example.com'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('evicts per Appendix C.5 (table of 256 bytes)', () => {
    const d = new HpackDecoder(256);
    expect(d.decode(hex('20'))).toEqual([]); // a block of just a table size update (to 0)
    const first = hex(
      '3fe101 4803 333032 5807 70726976617465 611d 4d6f6e2c203231204f637420323031332032303a31333a323120474d54 6e17 68747470733a2f2f7777772e6578616d706c652e636f6d',
    );
    expect(pairs(d.decode(first))).toEqual([
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
    // ":status: 307" (after a size update back to 256 above) evicts ":status: 302", the oldest entry.
    expect(pairs(d.decode(hex('4803 3330 37c1 c0bf')))).toEqual([
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['location', 'https://www.example.com'],
    ]);
  });

  it('round-trips what it encodes, indexing repeated fields and not per-call ones', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const request = [
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      '/nerve.engine.v1.Engine/Invoke',
      ':authority',
      'math',
      'content-type',
      'application/grpc',
      'te',
      'trailers',
      'x-bin',
      '\u00ff\u0000\u0080',
      'authorization',
      'Bearer secret',
    ];
    const first = Buffer.from(e.encode(request, ['grpc-timeout', '99m'], undefined, 0));
    expect(d.decode(first)).toEqual([...request, 'grpc-timeout', '99m']);
    const second = Buffer.from(e.encode(request, ['grpc-timeout', '98m'], undefined, 0));
    expect(d.decode(second)).toEqual([...request, 'grpc-timeout', '98m']);
    // Indexed the second time: one byte per field, but the sensitive value and the timeout.
    expect(second.length).toBeLessThan(first.length / 2);
    expect(second.includes(Buffer.from('Bearer secret'))).toBe(true);
  });

  it('keeps encoder and decoder in step through many evictions and a smaller peer table', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    for (let i = 0; i < 1500; i++) {
      if (i === 250) e.setMaxTableSize(100);
      const h = ['x-key', `value-${i % 37}`, `x-name-${i % 11}`, 'v'.repeat(i % 200)];
      expect(d.decode(Buffer.from(e.encode(h, undefined, undefined, 0)))).toEqual(h);
    }
  });

  it('answers a repeated block with the list it decoded to, until the table changes', () => {
    const d = new HpackDecoder();
    // ":method GET", then "custom-key: custom-value" added to the table.
    const adds = hex('82 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65');
    const refers = hex('82be'); // ":method GET" and dynamic entry 62, the newest
    expect(d.decode(adds)).toEqual([':method', 'GET', 'custom-key', 'custom-value']);
    const first = d.decode(refers);
    expect(first).toEqual([':method', 'GET', 'custom-key', 'custom-value']);
    expect(d.decode(refers)).toBe(first); // the same bytes against the same table: the same list
    expect(d.listSize).toBe(3 + 7 + 32 + 10 + 12 + 32);
    // A block that adds an entry is never answered from memory: the second time it adds again.
    expect(d.decode(adds)).toEqual([':method', 'GET', 'custom-key', 'custom-value']);
    // The table changed: entry 62 is now the second "custom-key", and 63 the first.
    const after = d.decode(refers);
    expect(after).not.toBe(first);
    expect(after).toEqual(first);
    expect(d.decode(hex('82bf'))).toEqual([':method', 'GET', 'custom-key', 'custom-value']);
    // A size update to 0 empties the table: the same bytes now fail as they must.
    expect(d.decode(hex('20'))).toEqual([]);
    expect(() => d.decode(refers)).toThrow(/index 62 beyond the table/);
  });

  it('re-sends the bytes of a list it encoded before only while the table is unchanged', () => {
    // Lists are reused by identity (as the router passes a decoded list on); interleaved with lists that
    // add entries, every block must still decode to its list on the peer.
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const lists = [
      [':status', '200', 'content-type', 'application/grpc', 'date', 'Tue, 01 Dec 2026 02:26:00 GMT'],
      ['grpc-status', '0', 'grpc-message', ''],
      [':method', 'POST', ':path', '/a.B/C', 'te', 'trailers', 'x-nerve-engine', 'echo'],
    ];
    const timeout = ['grpc-timeout', '30000m'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let repeats = 0;
    for (let i = 0; i < 2000; i++) {
      const r = random();
      let list: string[];
      if (r < 0.1) list = [':status', '200', 'date', `day ${Math.floor(random() * 40)}`];
      else list = lists[Math.floor(random() * lists.length)];
      const extra = list === lists[2] ? timeout : undefined;
      if (i === 1000) e.setMaxTableSize(128);
      const block = Buffer.from(e.encode(list, extra, undefined, 0));
      const before = Buffer.from(e.encode(list, extra, undefined, 0));
      if (before.equals(block)) repeats++;
      expect(d.decode(block)).toEqual(extra ? [...list, ...extra] : list);
      expect(d.decode(before)).toEqual(extra ? [...list, ...extra] : list);
    }
    expect(repeats).toBeGreaterThan(1000);
  });

  it('skips names it is told to, and leaves room for a frame header', () => {
    const out = new HpackEncoder().encode(
      ['connection', 'close', 'a', 'b'],
      undefined,
      (n) => n === 'connection',
      9,
    );
    expect(new HpackDecoder().decode(Buffer.from(out.subarray(9)))).toEqual(['a', 'b']);
  });

  it('rejects malformed blocks with a precise error', () => {
    expect(() => new HpackDecoder().decode(hex('80'))).toThrow(new HpackError('HPACK: index 0'));
    expect(() => new HpackDecoder().decode(hex('be'))).toThrow(/index 62 beyond the table/);
    expect(() => new HpackDecoder().decode(hex('3fe21f'))).toThrow(/table size update to 4097 exceeds 4096/);
    expect(() => new HpackDecoder().decode(hex('820f'))).toThrow(/truncated/);
    expect(() => new HpackDecoder().decode(hex('4005 6162'))).toThrow(/string runs past the block/);
    expect(() => new HpackDecoder().decode(hex('8220 00'))).toThrow(/size update after a header field/);
    // 'a' is 00011 (5 bits): padding of zeros is invalid, of ones valid.
    expect(huffmanDecode(Buffer.from([0x1f]), 0, 1)).toBe('a');
    expect(() => huffmanDecode(Buffer.from([0x18]), 0, 1)).toThrow(/padding/);
    expect(() => huffmanDecode(Buffer.from([0x1f, 0xff]), 0, 2)).toThrow(/padding/);
  });

  it('signals a table that shrank and grew again before a block as two size updates, smallest first (§4.2)', () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields = ['x-a', 'one', 'x-b', 'two'];
    d.decode(Buffer.from(e.encode(fields, undefined, undefined, 0))); // both enter the tables
    e.setMaxTableSize(0);
    e.setMaxTableSize(4096);
    const block = Buffer.from(e.encode(fields, undefined, undefined, 0));
    expect(block[0]).toBe(0x20); // size update to 0 …
    expect(block[1]).toBe(0x3f); // … then to 4096 (0x3f, 0xe1, 0x1f)
    expect(pairs(d.decode(block))).toEqual(pairs(fields));
    // Had only the last update gone out, the decoder would still hold the evicted entries: in step, the
    // next block (indexes to what the encoder's table holds now) decodes the same.
    expect(pairs(d.decode(Buffer.from(e.encode(fields, undefined, undefined, 0))))).toEqual(pairs(fields));
  });

  it('keeps its table within its cap whatever the peer allows', () => {
    const e = new HpackEncoder(1024);
    const d = new HpackDecoder(4096);
    e.setMaxTableSize(2 ** 32 - 1);
    const first = Buffer.from(e.encode(['x-k', 'v'.repeat(900)], undefined, undefined, 0));
    expect(first[0] & 0xe0).toBe(0x20); // its first block says the table is 1024, not the default 4096
    d.decode(first);
  });

  it('decodes an HPACK bomb without keeping it: past the list limit fields are counted, not stored', () => {
    const big = 'b'.repeat(4_000);
    const name = Buffer.from('x-bomb');
    const literal = Buffer.concat([
      Buffer.from([0x40, name.length]),
      name,
      Buffer.from([
        0x7f,
        4_000 - 127 - 128 * Math.floor((4_000 - 127) / 128) + 128,
        Math.floor((4_000 - 127) / 128),
      ]),
      Buffer.from(big),
    ]);
    const bomb = Buffer.concat([literal, Buffer.alloc(60_000, 0xbe)]); // 60,000 × index 62
    const d = new HpackDecoder(4096, 64 * 1024);
    const started = process.hrtime.bigint();
    const list = d.decode(bomb);
    expect(list).toEqual([]);
    expect(d.listSize).toBeGreaterThan(200_000_000);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(1_000);
    // The table is in step: a small block after it decodes.
    expect(pairs(d.decode(Buffer.from([0xbe])))).toEqual([['x-bomb', big]]);
  });
});

describe('HPACK encoder: fresh never-indexed fields after lists sent before', () => {
  it('a decoder reads every field of every block', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const headers = [':method', 'POST', ':path', '/nerve.engine.v1.Engine/Invoke', 'x-nerve-engine', 'calc'];
    for (let i = 0; i < 3; i++) {
      const extra = [
        'grpc-timeout',
        `${100 + i}m`,
        'traceparent',
        `00-${'a'.repeat(31)}${i}-${'b'.repeat(16)}-00`,
      ];
      const block = Buffer.from(encoder.encode(headers, extra, undefined, 0));
      expect(decoder.decode(block)).toEqual([...headers, ...extra]);
    }
  });

  it('writes an added field after the lists, its head a word a store whatever its padding, and never in the table', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const headers = [':method', 'POST', ':path', '/a.B/C', 'x-kept', 'kept'];
    for (let nameLength = 1; nameLength <= 9; nameLength++) {
      for (const length of [1, 2, 5, 126]) {
        const name = 'n'.repeat(nameLength);
        const field = addedField(name, length, (out, at, seed) => {
          for (let i = 0; i < length; i++) out.setUint8(at + i, 0x61 + ((seed + i) % 26));
        });
        const value = Array.from({ length }, (_, i) => String.fromCharCode(0x61 + ((length + i) % 26))).join(
          '',
        );
        const block = Buffer.from(encoder.encode(headers, undefined, undefined, 3, field, length)).subarray(
          3,
        );
        expect(decoder.decode(block)).toEqual([...headers, name, value]);
        // A literal without indexing: the next block without it decodes to the lists alone.
        expect(decoder.decode(Buffer.from(encoder.encode(headers, undefined, undefined, 0)))).toEqual(
          headers,
        );
      }
    }
  });

  it('refuses an added field too long for a one-byte length or with a name HTTP/2 does not allow', () => {
    const write = () => undefined;
    expect(() => addedField('n'.repeat(127), 1, write)).toThrow(/shorter than 127/);
    expect(() => addedField('name', 127, write)).toThrow(/shorter than 127/);
    expect(() => addedField('Trace', 1, write)).toThrow(/lower-case/);
  });
});

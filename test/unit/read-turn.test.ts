import {
  afterRead,
  flushWhenReadDone,
  inRead,
  readDone,
  readStarted,
  writeThrough,
} from '../../src/protocol/h2/read-turn';

describe('the turn of a read (frames written while a read is handled leave at its end)', () => {
  it('runs afterRead work at the end of the read, before the flushes, nested reads included', () => {
    const order: string[] = [];
    readStarted();
    flushWhenReadDone({ flushNow: () => order.push('flush') });
    afterRead((what: string) => order.push(what), 'after');
    readStarted(); // a read handled inside another (none is today; the outer one decides)
    readDone();
    expect(order).toEqual([]);
    expect(inRead()).toBe(true);
    readDone();
    expect(order).toEqual(['after', 'flush']);
    expect(inRead()).toBe(false);
  });

  it('outside a read, afterRead work runs at the next tick', async () => {
    let ran = false;
    afterRead(() => (ran = true), undefined);
    expect(ran).toBe(false);
    await new Promise((r) => process.nextTick(r));
    expect(ran).toBe(true);
  });

  it('an exception in afterRead work still runs the rest, ends the read and flushes', () => {
    let flushed = 0;
    let after = 0;
    readStarted();
    flushWhenReadDone({ flushNow: () => flushed++ });
    afterRead(() => {
      throw new Error('a bug');
    }, undefined);
    afterRead(() => after++, undefined);
    expect(() => readDone()).toThrow('a bug');
    expect(after).toBe(1);
    expect(flushed).toBe(1);
    expect(inRead()).toBe(false);
    readStarted();
    flushWhenReadDone({ flushNow: () => flushed++ });
    readDone();
    expect(flushed).toBe(2);
  });
});

describe('writeThrough (a turn of its own, outside a read)', () => {
  it('writes what the work queued when it returns, even when it throws', () => {
    const order: string[] = [];
    writeThrough((what: string) => {
      flushWhenReadDone({ flushNow: () => order.push('flush') });
      order.push(what);
    }, 'work');
    expect(order).toEqual(['work', 'flush']);
    expect(() =>
      writeThrough(() => {
        flushWhenReadDone({ flushNow: () => order.push('flush again') });
        throw new Error('a bug');
      }, undefined),
    ).toThrow('a bug');
    expect(order).toEqual(['work', 'flush', 'flush again']);
    expect(inRead()).toBe(false);
  });
});

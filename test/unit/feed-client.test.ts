import { FeedClient } from '../../src/api/feed/feed-client';
import { FeedHub } from '../../src/control-plane/feed/feed-hub';

/** A sink whose peer reads nothing until told: bytes pile up as in a stuck socket. */
class StuckSink {
  bytes = 0;
  sent: string[] = [];
  closedWith: string | undefined;
  buffered = () => this.bytes;
  send = (text: string) => {
    this.sent.push(text);
    this.bytes += text.length;
  };
  close = (reason: string) => (this.closedWith = reason);
}

describe('FeedClient: slow consumers', () => {
  const limits = { coalesceAboveBytes: 1_000, closeAboveBytes: 5_000, closeAfterMs: 10_000 };

  it('keeps the newest message per topic and engine while behind, sends them in order once caught up', () => {
    const now = 0;
    const hub = new FeedHub(100, () => now);
    const sink = new StuckSink();
    const counters = { coalesced: 0, closedSlow: 0 };
    const client = new FeedClient(hub, sink, limits, counters, () => now);
    client.subscribe(['metrics']);
    hub.publish('metrics', { pad: 'x'.repeat(1_200) }, { engine: 'a' }); // sent: now behind
    for (let i = 0; i < 50; i++) {
      hub.publish('metrics', { i }, { engine: 'a' });
      hub.publish('metrics', { i }, { engine: 'b' });
    }
    expect(sink.sent).toHaveLength(1);
    expect(client.coalescing).toBe(true);
    expect(counters.coalesced).toBe(98);
    sink.bytes = 0; // the peer read everything
    client.tick();
    const ids = sink.sent.slice(1).map((t) => (JSON.parse(t) as { id: number; data: { i: number } }).data.i);
    expect(ids).toEqual([49, 49]);
    expect(client.coalescing).toBe(false);
  });

  it('closes a client held above the limit for the whole period, with the reason', () => {
    let now = 0;
    const hub = new FeedHub(100, () => now);
    const sink = new StuckSink();
    const client = new FeedClient(hub, sink, limits, { coalesced: 0, closedSlow: 0 }, () => now);
    client.subscribe(['metrics']);
    sink.bytes = 6_000;
    hub.publish('metrics', {}, { engine: 'a' });
    now += 9_999;
    client.tick();
    expect(sink.closedWith).toBeUndefined();
    now += 1;
    client.tick();
    expect(sink.closedWith).toBe('slow consumer: over 5 KiB unread for 10 s');
    // Closed: it hears nothing more.
    const before = sink.sent.length;
    hub.publish('metrics', {}, { engine: 'a' });
    expect(sink.sent.length).toBe(before);
  });
});

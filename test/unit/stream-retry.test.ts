import { Backoff } from '../../src/router/net/backoff';
import { StreamRetry } from '../../src/router/control/stream-retry';

describe('a router’s control stream retries', () => {
  it('backs off a refusal to one try per 30–60 s, and calls only a new reason news', () => {
    for (const random of [() => 0, () => 0.999]) {
      const retry = new StreamRetry(new Backoff(100, 5_000, 1.6, 20, random), random);
      const delays: number[] = [];
      const news: boolean[] = [];
      for (let i = 0; i < 12; i++) {
        const d = retry.failed(7, 'router-a may not act as node "router-b"');
        delays.push(d.delayMs);
        news.push(d.news);
        expect(d.refused).toBe(true);
      }
      expect(delays[0]).toBeGreaterThanOrEqual(500);
      expect(delays[0]).toBeLessThanOrEqual(1_000);
      expect(delays.slice(-3).every((d) => d >= 30_000 && d <= 60_000)).toBe(true);
      expect(news).toEqual([true, ...Array(11).fill(false)]);
      expect(retry.failed(16, 'API key not recognised').news).toBe(true);
    }
  });

  it('retries a broken path fast, and starts over once the control plane accepted the stream', () => {
    const retry = new StreamRetry(new Backoff(100, 5_000, 1.6, 20, () => 1), () => 1);
    expect(retry.failed(14, 'connection refused')).toMatchObject({ delayMs: 100, refused: false });
    expect(retry.failed(14, 'connection refused').delayMs).toBe(160);
    for (let i = 0; i < 5; i++) retry.failed(7, 'refused');
    retry.accepted();
    expect(retry.failed(7, 'refused')).toMatchObject({ delayMs: 1_000, news: true });
    expect(retry.failed(undefined, 'stream ended').delayMs).toBe(100);
  });
});

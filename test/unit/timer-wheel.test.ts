import { TimerWheel } from '../../src/control-plane/health/timer-wheel';

describe('TimerWheel', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('runs items due in the same tick together, in one timer, and never early', () => {
    const ran: [string, number][] = [];
    const wheel = new TimerWheel<string>(20, (item) => ran.push([item, Date.now()]));
    const t0 = Date.now();
    wheel.schedule('a', t0 + 101);
    wheel.schedule('b', t0 + 115);
    wheel.schedule('c', t0 + 300);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(119);
    expect(ran).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(ran).toEqual([
      ['a', t0 + 120],
      ['b', t0 + 120],
    ]);
    jest.advanceTimersByTime(200);
    expect(ran.map(([i]) => i)).toEqual(['a', 'b', 'c']);
    expect(ran[2][1]).toBeGreaterThanOrEqual(t0 + 300);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('moves a rescheduled item, forgets a cancelled one, and re-arms for an earlier one', () => {
    const ran: string[] = [];
    const wheel = new TimerWheel<string>(10, (item) => ran.push(item));
    const t0 = Date.now();
    wheel.schedule('late', t0 + 500);
    wheel.schedule('moved', t0 + 400);
    wheel.schedule('moved', t0 + 50);
    wheel.schedule('gone', t0 + 60);
    wheel.cancel('gone');
    expect(wheel.size).toBe(2);
    jest.advanceTimersByTime(60);
    expect(ran).toEqual(['moved']);
    jest.advanceTimersByTime(500);
    expect(ran).toEqual(['moved', 'late']);
    wheel.schedule('x', Date.now() + 10);
    wheel.stop();
    jest.advanceTimersByTime(100);
    expect(ran).toEqual(['moved', 'late']);
  });
});

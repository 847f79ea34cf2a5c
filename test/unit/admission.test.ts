import { Admission, type AdmissionLimits } from '../../src/router/resilience/admission';
import { FakeClock } from '../helpers/fake-clock';
import { formatGrpcTimeout, grpcTimeoutHeader, parseGrpcTimeout } from '../../src/router/proxy/grpc-timeout';
import { priorityOf } from '../../src/router/proxy/ingress';

const limits = (l: Partial<AdmissionLimits>): AdmissionLimits => ({
  maxConcurrent: 0,
  maxPending: 0,
  queueTimeoutMs: 1000,
  rate: 0,
  burst: 0,
  ...l,
});

function harness(l: Partial<AdmissionLimits>) {
  const clock = new FakeClock();
  const admission = new Admission('e', limits(l), clock);
  const log: string[] = [];
  const call = (name: string, priority = 5) =>
    admission.admit(
      priority,
      (waited) => log.push(`${name} ran after ${waited} ms`),
      (why) => log.push(`${name} refused: ${why}`),
    );
  return { clock, admission, log, call };
}

describe('admission: bulkhead, rate limit and priority queue', () => {
  it('drains a queue whose next token comes due between the failed take and the wakeup planning', () => {
    // A clock that moves on at every reading, as a real one does between two calls.
    const clock = new FakeClock();
    // Readings: the bucket's start, a's take, b's take, b's arrival, the wakeup planning; then on.
    const readings = [0, 0, 49.99, 50, 50.01];
    clock.now = () => readings.shift() ?? 50.01 + clock.t;
    const admission = new Admission('e', limits({ rate: 20, burst: 1, maxPending: 5 }), clock);
    const log: string[] = [];
    admission.admit(
      5,
      () => log.push('a ran'),
      () => log.push('a refused'),
    );
    // b's take sees 0.9998 of a token; planning the wakeup a moment later sees a whole one.
    admission.admit(
      5,
      () => log.push('b ran'),
      () => log.push('b refused'),
    );
    expect(log).toEqual(['a ran']);
    clock.advance(5);
    expect(log).toEqual(['a ran', 'b ran']);
  });

  it('admits up to max_requests at once and refuses the rest when there is no queue', () => {
    const { admission, log, call } = harness({ maxConcurrent: 2 });
    call('a');
    call('b');
    call('c');
    expect(log).toEqual([
      'a ran after 0 ms',
      'b ran after 0 ms',
      'c refused: engine "e" has 2 calls in flight (max_requests 2)',
    ]);
    admission.release();
    call('d');
    expect(log[3]).toBe('d ran after 0 ms');
  });

  it('queues over the limit, serves the highest priority first, and refuses when the queue is full', () => {
    const { admission, log, call } = harness({ maxConcurrent: 1, maxPending: 2 });
    call('running');
    call('low', 1);
    call('high', 9);
    call('overflow', 5);
    expect(log.slice(1)).toEqual([
      'overflow refused: engine "e" has 1 calls in flight (max_requests 1), and its queue is full (2 waiting)',
    ]);
    admission.release();
    admission.release();
    expect(log.slice(2)).toEqual(['high ran after 0 ms', 'low ran after 0 ms']);
  });

  it('refuses a call that waited the queue timeout, and a withdrawn call never runs', () => {
    const { clock, admission, log, call } = harness({ maxConcurrent: 1, maxPending: 5, queueTimeoutMs: 200 });
    call('running');
    const withdraw = call('gone');
    call('late');
    withdraw();
    clock.advance(200);
    expect(log.slice(1)).toEqual([
      'late refused: engine "e": no capacity within the 200 ms queue timeout (it has 1 calls in flight (max_requests 1))',
    ]);
    admission.release();
    expect(log).toHaveLength(2);
    expect(admission.waiting).toBe(0);
  });

  it('spaces calls at the token-bucket rate, reporting how long each waited', () => {
    const { clock, log, call } = harness({ rate: 10, burst: 1, maxPending: 10, queueTimeoutMs: 5000 });
    for (const n of ['a', 'b', 'c']) call(n);
    expect(log).toEqual(['a ran after 0 ms']);
    clock.advance(100);
    clock.advance(100);
    expect(log).toEqual(['a ran after 0 ms', 'b ran after 100 ms', 'c ran after 200 ms']);
  });

  it('refuses over the rate with no queue, naming the rate', () => {
    const { log, call } = harness({ rate: 2, burst: 2 });
    for (const n of ['a', 'b', 'c']) call(n);
    expect(log[2]).toBe('c refused: engine "e" is over its rate limit (2/s, burst 2)');
  });

  it('parses priorities and grpc-timeout values', () => {
    expect([
      priorityOf('9'),
      priorityOf('0'),
      priorityOf('x'),
      priorityOf(undefined),
      priorityOf('12'),
    ]).toEqual([9, 0, 5, 5, 5]);
    expect([
      parseGrpcTimeout('300m'),
      parseGrpcTimeout('2S'),
      parseGrpcTimeout('1M'),
      parseGrpcTimeout('5x'),
      parseGrpcTimeout(undefined),
    ]).toEqual([300, 2000, 60000, undefined, undefined]);
    expect([formatGrpcTimeout(250.2), formatGrpcTimeout(0.1), formatGrpcTimeout(2e8)]).toEqual([
      '251m',
      '1m',
      '200000S',
    ]);
  });

  it('gives calls with the same time left one grpc-timeout pair, float noise or not', () => {
    const start = 3380.3480074024533; // a clock reading: start + 30000 - start is 30000.000000000004
    const pair = grpcTimeoutHeader(start + 30_000 - start);
    expect(pair).toEqual(['grpc-timeout', '30000m']);
    expect(grpcTimeoutHeader(30_000)).toBe(pair);
    expect(grpcTimeoutHeader(29_999.2)).toBe(pair);
    expect(grpcTimeoutHeader(30_000.5)).toEqual(['grpc-timeout', '30001m']);
  });
});

import * as grpc from '@grpc/grpc-js';
import { grpcError } from '../../src/control-plane/admin/admin-grpc';
import { NerveError } from '../../src/model/errors';
import { RateLimitedError } from '../../src/security/call-limits';
import { asNerveError, STORE_RETRY_AFTER_MS } from '../../src/store/as-nerve-error';
import { FencedError, StoreUnavailableError } from '../../src/store/config-store';

describe('retry hints: when a refused call may succeed', () => {
  it('a store that cannot take writes now says when to retry; other refusals do not', () => {
    const unavailable = asNerveError(new StoreUnavailableError('Redis is not reachable')) as NerveError;
    expect(unavailable.code).toBe('UNAVAILABLE');
    expect(unavailable.retryAfterMs).toBe(STORE_RETRY_AFTER_MS);
    // A lost fence is for the leader to sort out, not a client's retry.
    expect((asNerveError(new FencedError('a:1', 'b:2')) as NerveError).retryAfterMs).toBeUndefined();
  });

  it('gRPC carries the hint as grpc-retry-pushback-ms (gRFC A6), with the status code', () => {
    const status = grpcError(new NerveError('UNAVAILABLE', 'store down', [], 1_000));
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.metadata?.get('grpc-retry-pushback-ms')).toEqual(['1000']);
    expect(grpcError(new RateLimitedError('calls', 3)).metadata?.get('grpc-retry-pushback-ms')).toEqual([
      '3000',
    ]);
    expect(grpcError(new NerveError('NOT_FOUND', 'no such engine')).metadata).toBeUndefined();
  });
});

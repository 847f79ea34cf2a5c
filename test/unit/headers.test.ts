import { messageOf, pushbackOf, statusOf } from '../../src/router/proxy/call-outcome';
import { headerValue, withoutHeader } from '../../src/router/http/headers';

describe('header lists for the next hop', () => {
  const request = [
    ':method',
    'POST',
    ':path',
    '/nerve.engine.v1.Engine/Invoke',
    'grpc-timeout',
    '100m',
    'x-tag',
    'a',
    'x-tag',
    'b',
  ];

  it('finds the first value of a name, and copies without a name', () => {
    expect(headerValue(request, 'x-tag')).toBe('a');
    expect(headerValue(request, 'absent')).toBeUndefined();
    expect(withoutHeader(request, 'grpc-timeout')).toEqual([
      ':method',
      'POST',
      ':path',
      '/nerve.engine.v1.Engine/Invoke',
      'x-tag',
      'a',
      'x-tag',
      'b',
    ]);
  });

  it('reads a status, its message and a retry pushback', () => {
    expect(statusOf(['grpc-status', '14'])).toBe(14);
    expect(statusOf(['grpc-status', ''])).toBe(2);
    expect(statusOf(['grpc-status', 'x'])).toBe(2);
    expect(statusOf([])).toBe(2);
    expect(messageOf(['grpc-message', 'caf%C3%A9 100%25'], '')).toBe('café 100%');
    expect(messageOf(['grpc-message', '%E0%A4%A'], '')).toBe('%E0%A4%A');
    expect(messageOf([], 'status 14')).toBe('status 14');
    expect(pushbackOf(['grpc-retry-pushback-ms', '250'])).toBe(250);
    expect(pushbackOf(['grpc-retry-pushback-ms', '-1'])).toBe(-1);
    expect(pushbackOf([])).toBeUndefined();
  });
});

import { forwardHeaders, passHeaders } from '../../src/router/proxy/headers';

describe('headers for the next hop', () => {
  const request = {
    ':method': 'POST',
    ':path': '/nerve.engine.v1.Engine/Invoke',
    ':authority': 'math',
    ':scheme': 'http',
    'content-type': 'application/grpc',
    te: 'trailers',
    'x-nerve-engine': 'math',
  };
  const keep = [':method', ':path', ':authority', ':scheme'];

  it('passes a clean header block on as it is (no copy per call)', () => {
    const h = { ...request };
    expect(passHeaders(h, keep)).toBe(h);
  });

  it('copies without connection-specific headers and unlisted pseudo-headers', () => {
    const h = { ...request, connection: 'keep-alive', host: 'math:50051' };
    const out = passHeaders(h, keep);
    expect(out).not.toBe(h);
    expect(out).toEqual(request);
    expect(forwardHeaders({ ':status': '200', 'grpc-status': '0' }, [])).toEqual({ 'grpc-status': '0' });
  });
});

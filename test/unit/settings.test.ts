import { parseConfigText } from '../../src/config/config-file';
import { resolveSettings, SettingsError } from '../../src/config/settings';
import { DEFAULT_LIMITS } from '../../src/protocol/h2/limits';

describe('settings precedence: flags, then environment, then file, then defaults', () => {
  const file = { apiPort: 3100, xdsPort: 18100, router: { port: 50100 }, engines: [], entries: [] };

  it('uses defaults when nothing is set', () => {
    const s = resolveSettings({}, {}, undefined, { host: '0.0.0.0' });
    expect(s).toMatchObject({
      host: '0.0.0.0',
      apiPort: 3000,
      xdsPort: 18000,
      routerPort: 50051,
      routerAdminPort: 9901,
      logLevel: 'info',
      redis: undefined,
      redisMinReplicas: undefined,
    });
  });

  it('lets the file override defaults, the environment the file, and flags everything', () => {
    expect(resolveSettings({}, {}, file, { host: 'h' }).apiPort).toBe(3100);
    expect(resolveSettings({}, { API_PORT: '3200' }, file, { host: 'h' }).apiPort).toBe(3200);
    expect(resolveSettings({ 'api-port': '0' }, { API_PORT: '3200' }, file, { host: 'h' }).apiPort).toBe(0);
    expect(resolveSettings({}, { ROUTER_PORT: '1' }, file, { host: 'h' }).routerPort).toBe(1);
  });

  it('splits a list of control planes', () => {
    expect(
      resolveSettings({ 'control-plane': 'a:1, b:2' }, {}, undefined, { host: 'h' }).controlPlanes,
    ).toEqual(['a:1', 'b:2']);
  });

  it('names the bad source', () => {
    expect(() => resolveSettings({}, { XDS_PORT: 'x' }, undefined, { host: 'h' })).toThrow(
      new SettingsError('XDS_PORT must be a port from 0 to 65535, got "x"'),
    );
    expect(() => resolveSettings({ 'api-port': '70000' }, {}, undefined, { host: 'h' })).toThrow(
      '--api-port must be a port from 0 to 65535, got "70000"',
    );
  });

  it('takes xDS storm control from flags, the environment and the file, in that order, and names a bad one', () => {
    const parsed = parseConfigText('xds:\n  firstResponses: 50\n  requestBurst: 200\n', 'f.yaml');
    if (!parsed.ok) throw new Error(parsed.errors.join());
    expect(resolveSettings({}, {}, undefined, { host: 'h' }).xds).toEqual({});
    expect(resolveSettings({}, {}, parsed.value, { host: 'h' }).xds).toEqual({
      firstResponses: 50,
      requestBurst: 200,
    });
    const over = resolveSettings(
      { 'xds-first-responses': '70' },
      { XDS_FIRST_RESPONSES: '60', XDS_REQUESTS_PER_SECOND: '20' },
      parsed.value,
      { host: 'h' },
    );
    expect(over.xds).toEqual({ firstResponses: 70, requestsPerSecond: 20, requestBurst: 200 });
    expect(() => resolveSettings({}, { XDS_FIRST_RESPONSE_HOLD_MS: '0' }, undefined, { host: 'h' })).toThrow(
      new SettingsError('XDS_FIRST_RESPONSE_HOLD_MS must be a whole number from 1, got "0"'),
    );
    expect(parseConfigText('xds:\n  firstResponse: 5\n', 'f.yaml').ok).toBe(false);
  });

  it('takes the override TTL and heartbeat, and refuses a heartbeat that would let overrides lapse', () => {
    expect(
      resolveSettings({ 'xds-override-ttl-ms': '6000' }, { XDS_HEARTBEAT_MS: '2000' }, undefined, {
        host: 'h',
      }).xds,
    ).toEqual({ overrideTtlMs: 6000, heartbeatMs: 2000 });
    expect(() => resolveSettings({ 'xds-heartbeat-ms': '30000' }, {}, undefined, { host: 'h' })).toThrow(
      'xDS heartbeatMs (30000) must be below overrideTtlMs (30000): --xds-heartbeat-ms (XDS_HEARTBEAT_MS), --xds-override-ttl-ms (XDS_OVERRIDE_TTL_MS)',
    );
  });

  it('takes HTTP/2 limits from flags, the environment and the file, in that order, and names a bad one', () => {
    const parsed = parseConfigText(
      'router:\n  http2:\n    maxConnections: 500\n    idleTimeoutMs: 1000\n',
      'f.yaml',
    );
    if (!parsed.ok) throw new Error(parsed.errors.join());
    const fromFile = resolveSettings({}, {}, parsed.value, { host: 'h' }).routerHttp2;
    expect(fromFile).toEqual({ ...DEFAULT_LIMITS, maxConnections: 500, idleTimeoutMs: 1000 });
    const fromEnv = resolveSettings({}, { ROUTER_H2_MAX_CONNECTIONS: '600' }, parsed.value, { host: 'h' });
    expect(fromEnv.routerHttp2.maxConnections).toBe(600);
    const fromFlag = resolveSettings(
      { 'h2-max-connections': '700' },
      { ROUTER_H2_MAX_CONNECTIONS: '600' },
      parsed.value,
      {
        host: 'h',
      },
    );
    expect(fromFlag.routerHttp2.maxConnections).toBe(700);
    expect(() =>
      resolveSettings({}, { ROUTER_H2_MAX_HEADER_LIST_SIZE: 'big' }, undefined, { host: 'h' }),
    ).toThrow(new SettingsError('ROUTER_H2_MAX_HEADER_LIST_SIZE must be a whole number, got "big"'));
    expect(() => resolveSettings({ 'h2-max-concurrent-streams': '0' }, {}, undefined, { host: 'h' })).toThrow(
      /maxConcurrentStreams must be a whole number from 1/,
    );
    const typo = parseConfigText('router:\n  http2:\n    maxConnection: 5\n', 'f.yaml');
    expect(typo.ok).toBe(false);
  });
});

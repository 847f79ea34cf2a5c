import { resolveSettings, SettingsError } from '../../src/config/settings';

describe('settings precedence: flags, then environment, then file, then defaults', () => {
  const file = { apiPort: 3100, xdsPort: 18100, router: { port: 50100 }, engines: [] };

  it('uses defaults when nothing is set', () => {
    const s = resolveSettings({}, {}, undefined, { host: '0.0.0.0' });
    expect(s).toMatchObject({
      host: '0.0.0.0',
      apiPort: 3000,
      xdsPort: 18000,
      routerPort: 50051,
      routerAdminPort: 9901,
      logLevel: 'info',
      redisUrl: undefined,
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
});

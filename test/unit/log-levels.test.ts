import winston from 'winston';
import { isLogLevel, LogLevels } from '../../src/observability/log-levels';

const silentLogger = (level: string) =>
  winston.createLogger({ level, transports: [new winston.transports.Console({ silent: true })] });

/** Run-time log levels (the admin API's log-level operations, the router's POST /logging). */
describe('log levels at run time', () => {
  it('knows the levels an operator may set', () => {
    expect(isLogLevel('debug')).toBe(true);
    expect(isLogLevel('verbose')).toBe(false);
    expect(isLogLevel(3)).toBe(false);
  });

  it('sets one component or all, tells listeners, and names the known ones when asked for another', () => {
    const levels = new LogLevels();
    const router = silentLogger('info');
    const store = silentLogger('warn');
    const storeToo = silentLogger('warn');
    levels.register('router', router);
    levels.register('store', store);
    levels.register('store', storeToo);
    storeToo.silent = true;
    expect(levels.levels()).toEqual({ router: 'info', store: 'silent' });
    let heard = 0;
    const off = levels.onChange(router, () => heard++);
    expect(levels.set('debug', 'router')).toEqual({ router: 'debug', store: 'silent' });
    expect(heard).toBe(1);
    expect(levels.set('error')).toEqual({ router: 'error', store: 'error' });
    expect([store.level, storeToo.level, storeToo.silent]).toEqual(['error', 'error', false]);
    expect(heard).toBe(2);
    off();
    levels.set('info');
    expect(heard).toBe(2);
    expect(() => levels.set('info', 'nope')).toThrow('no logger "nope"; known: router, store');
    expect(levels.onChange(silentLogger('info'), () => heard++)()).toBeUndefined();
  });
});

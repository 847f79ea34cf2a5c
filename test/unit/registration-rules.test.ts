import { registrationRefusal, type Registrant } from '../../src/model/fleet/registration';
import { engineSpec } from '../helpers/cluster';

const engine = (registration?: object) =>
  engineSpec({
    name: 'calc',
    versions: [{ name: 'v1', weight: 100 }],
    instances: [{ id: 'static-1', address: '10.0.0.1:7001' }],
    ...(registration && { registration }),
  });
const op: Registrant = { name: 'engine-a', role: 'operator' };
const req = (extra: object = {}) => ({ engine: 'calc', id: 'new-1', address: '127.0.0.1:9', ...extra });

describe('registration rules: a registrant registers its own instances, within the limits an admin set', () => {
  it('lets an admin (and authentication off) do anything', () => {
    for (const who of [
      { name: 'ops', role: 'admin' as const },
      { name: 'x', role: undefined },
    ])
      expect(
        registrationRefusal(who, req({ weight: 1_000_000, createEngine: true }), undefined, undefined, 999),
      ).toBeUndefined();
  });

  it('refuses creating an engine, re-pointing a static instance, and another identity’s instance', () => {
    expect(registrationRefusal(op, req({ createEngine: true }), undefined, undefined, 0)?.code).toBe(
      'PERMISSION_DENIED',
    );
    const stat = registrationRefusal(
      op,
      req({ id: 'static-1' }),
      engine(),
      { address: '10.0.0.1:7001', owner: undefined },
      0,
    );
    expect(stat?.message).toMatch(/configured by an admin/);
    const other = registrationRefusal(
      op,
      req({ id: 'i' }),
      engine(),
      { address: 'a:1', owner: 'engine-b' },
      1,
    );
    expect(other?.message).toMatch(/registered by "engine-b"; "engine-a" may register only its own/);
    expect(
      registrationRefusal(op, req({ id: 'i' }), engine(), { address: 'a:1', owner: 'engine-a' }, 1),
    ).toBeUndefined();
  });

  it('applies the engine’s limits: weight, count, identities, open', () => {
    expect(registrationRefusal(op, req({ weight: 101 }), engine(), undefined, 0)?.code).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      registrationRefusal(op, req({ weight: 500 }), engine({ maxWeight: 500 }), undefined, 0),
    ).toBeUndefined();
    expect(registrationRefusal(op, req(), engine({ maxInstances: 2 }), undefined, 2)?.message).toMatch(
      /maxInstances \(2\)/,
    );
    expect(registrationRefusal(op, req(), engine({ identities: ['engine-b'] }), undefined, 0)?.code).toBe(
      'PERMISSION_DENIED',
    );
    expect(registrationRefusal(op, req(), engine({ open: false }), undefined, 0)?.message).toMatch(
      /admins only/,
    );
  });

  it('never brings back an instance an admin removed', () => {
    const removed = { address: 'a:1', owner: 'engine-a', removedBy: 'ops' };
    expect(registrationRefusal(op, req({ id: 'i' }), engine(), removed, 0)?.message).toMatch(
      /removed from calc by ops/,
    );
  });
});

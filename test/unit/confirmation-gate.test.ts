import type { ChangeRecord } from '../../src/model/config';
import { ConfirmationGate } from '../../src/store/redis/confirmation-gate';

const record = (version: number, summary = `change ${version}`): ChangeRecord => ({
  version,
  at: 0,
  actor: 'tester',
  summary,
  ops: [],
});
const versions = (r: { records: ChangeRecord[] }) => r.records.map((x) => x.version);

describe('ConfirmationGate: a replica applies only changes the Redis replicas confirmed', () => {
  it('holds records until a confirmation covers them, and releases them in order', () => {
    const gate = new ConfirmationGate();
    gate.hold(record(3));
    gate.hold(record(2));
    expect(versions(gate.release(1))).toEqual([]);
    gate.confirm(2);
    expect(versions(gate.release(1))).toEqual([2]);
    gate.confirm(3);
    expect(versions(gate.release(2))).toEqual([3]);
    expect(gate.size).toBe(0);
  });

  it('a confirmation covers every earlier version (replication is ordered)', () => {
    const gate = new ConfirmationGate();
    for (const v of [5, 6, 7]) gate.hold(record(v));
    gate.confirm(7);
    expect(versions(gate.release(4))).toEqual([5, 6, 7]);
  });

  it('a later record of the same version replaces one never confirmed (a failover reused it)', () => {
    const gate = new ConfirmationGate();
    gate.hold(record(4, 'lost with the old primary'));
    gate.hold(record(4, 'written on the new one'));
    gate.confirm(4);
    const { records } = gate.release(3);
    expect(records.map((r) => r.summary)).toEqual(['written on the new one']);
  });

  it('a confirmed version the replica never read is a gap: it must load the store', () => {
    const gate = new ConfirmationGate();
    gate.hold(record(6));
    gate.confirm(6);
    const out = gate.release(4); // 5 was never read
    expect(out).toEqual({ records: [], gap: true });
  });

  it('drops what a load already holds, and says how long the oldest record waits', () => {
    let now = 1_000;
    const gate = new ConfirmationGate(() => now);
    expect(gate.waitedMs()).toBe(0);
    gate.hold(record(2));
    gate.hold(record(3));
    now += 700;
    expect(gate.waitedMs()).toBe(700);
    expect(gate.release(2)).toEqual({ records: [], gap: false }); // 2 came with a load
    expect(gate.size).toBe(1);
    gate.clear();
    expect(gate.size).toBe(0);
    expect(gate.waitedMs()).toBe(0);
  });
});

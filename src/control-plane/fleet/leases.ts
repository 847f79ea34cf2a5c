import type { ConfigStore } from '../../store/config-store';
import { randomBytes } from 'node:crypto';
import { SharedNamespace } from '../../store/shared-namespace';
import { echo } from '../../model/echo';
import { findInstance, type InstanceSpec } from '../../model/engine';
import { engineToJoin } from './joining';
import { updateEngine } from '../config/engine-catalog';
import { NerveError } from '../../model/errors';
import type { EventBus } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import type { FleetContext } from './fleet-context';
import { parseEngineSpec } from '../../model/validate';
import { ENGINE_KIND, toDocument } from '../../model/engine-document';
import type { ChangeRecord } from '../../model/config';
import { type Registrant, registrationRefusal } from '../../model/fleet/registration';

/** Shared namespace of registration leases: field `engine/instance`. Renewed by any replica. */
export const LEASES_NS = new SharedNamespace<LeaseRecord>(
  'leases',
  'any replica (registrations, heartbeats); the leader lapses and removes, fenced',
);

/**
 * Whether an instance's registration lease lapsed: it is out of routing (unhealthy) until it renews
 * or is removed. Read from the shared leases, so every replica routes alike.
 */
export function leaseLapsed(store: ConfigStore, engine: string, instance: string): boolean {
  return Boolean(LEASES_NS.get(store, `${engine}/${instance}`)?.lapsedAt);
}

export interface LeaseRecord {
  readonly leaseId: string;
  readonly engine: string;
  readonly instance: string;
  readonly address: string;
  readonly version: string;
  readonly ttlMs: number;
  readonly registeredAt: string;
  readonly renewedAt: string;
  readonly expiresAtMs: number;
  /** Set by the leader when the lease ran out: the instance is out of routing until it registers again. */
  readonly lapsedAt: string | null;
  /** The identity that registered it: only it (or an admin) may register that id again. */
  readonly owner?: string;
  /**
   * Set when someone other than the registration itself took the instance out of the spec (an admin's
   * delete, a rollback): neither a heartbeat nor a non-admin registration brings it back.
   */
  readonly removedBy?: string;
  readonly removedAt?: string;
}

/**
 * Engines a registration created (no one configured them): field engine → {createdAt, emptySinceMs}.
 * Once every registered instance has left, such an engine leaves too, after the removal window: a
 * fleet of self-registered instances that all went away is gone, not "unhealthy" forever.
 */
export const REGISTERED_ENGINES_NS = new SharedNamespace<RegisteredEngine>(
  'registered-engines',
  'the replica that created the engine; the leader removes it, fenced',
);

interface RegisteredEngine {
  readonly createdAt: string;
  readonly emptySinceMs?: number;
}

/** How long a removed instance's record is kept, refusing its re-registration by non-admins. */
const REMOVED_KEPT_MS = 24 * 3_600_000;

/** Changes made by registration itself, or restating what is configured: not an operator's removal. */
const OWN_CHANGES = /^(register|deregister|remove) /;
const NEUTRAL_ACTORS = new Set(['leases', 'config file', 'store', 'supervisor']);

export interface RegisterInput {
  readonly engine: string;
  readonly id: string;
  readonly address: string;
  readonly version?: string;
  readonly weight?: number;
  readonly priority?: number;
  /** 0: the default. */
  readonly ttlMs?: number;
  readonly createEngine?: boolean;
}

export interface LeaseGrant {
  readonly leaseId: string;
  readonly ttlMs: number;
  /** Renew at least this often (a third of the TTL: two heartbeats may be lost). */
  readonly heartbeatIntervalMs: number;
}

export { DEFAULT_LEASE_TTL_MS } from '../../model/fleet/lease-defaults';
import { DEFAULT_LEASE_TTL_MS } from '../../model/fleet/lease-defaults';
const MIN_TTL_MS = 1_000;
const MAX_TTL_MS = 600_000;

/**
 * Registration with leases (etcd's and Consul's TTL checks in spirit): `register` lists the instance
 * and grants a lease; heartbeats, taken by any replica, push its expiry on; the leader sweeps, and a
 * lapsed lease takes the instance out of routing (status `unhealthy`, reason `lease_lapsed`) and raises
 * an event; after `removeAfterMs` more it leaves the spec. Registering again under the same id brings it
 * back with the same identity (and a new lease).
 */
export class Leases implements Module {
  readonly name = 'leases';
  private readonly disposables = new Disposables();
  private readonly lapsed = new Set<string>();
  /** The fence this replica swept under, and since when: a new leader gives every lease a TTL. */
  private sweptUnder: string | undefined;
  private leadingSinceMs = 0;

  constructor(
    private readonly ctx: FleetContext,
    private readonly bus: EventBus,
    private readonly removeAfterMs = 300_000,
    private readonly sweepMs = 250,
  ) {}

  start(): void {
    this.disposables.add(this.ctx.store.watch((change) => this.noticeRemovals(change)));
    for (const [field, value] of LEASES_NS.map(this.ctx.store)) if (value.lapsedAt) this.lapsed.add(field);
    this.disposables.add(
      this.ctx.store.watchShared((c) => {
        const changed = LEASES_NS.changed(c);
        if (!changed) return;
        const lapsed = Boolean(changed.value?.lapsedAt);
        if (lapsed === this.lapsed.has(c.field)) return;
        if (lapsed) this.lapsed.add(c.field);
        else this.lapsed.delete(c.field);
        const engine = c.field.slice(0, c.field.indexOf('/'));
        this.bus.emit('leases.changed', { engine });
      }),
    );
    const timer = setInterval(() => void this.sweep(), this.sweepMs);
    timer.unref();
    this.disposables.add(() => clearInterval(timer));
  }

  stop(): void {
    this.disposables.dispose();
  }

  /** Whether an instance's lease lapsed (it is out of routing). */
  isLapsed(engine: string, instance: string): boolean {
    return this.lapsed.size > 0 && this.lapsed.has(`${engine}/${instance}`);
  }

  lease(engine: string, instance: string): LeaseRecord | undefined {
    return LEASES_NS.get(this.ctx.store, `${engine}/${instance}`);
  }

  async register(
    input: RegisterInput,
    actor: string,
    who: Registrant = { name: actor, role: undefined },
  ): Promise<LeaseGrant> {
    const ttlMs = input.ttlMs || DEFAULT_LEASE_TTL_MS;
    if (!Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `ttl_ms must be from ${MIN_TTL_MS} to ${MAX_TTL_MS}, got ${input.ttlMs}`,
      );
    this.checkRegistrant(input, who);
    const version = await this.list(input, actor);
    const now = Date.now();
    const record: LeaseRecord = {
      leaseId: `${input.engine}/${input.id}/${randomBytes(9).toString('base64url')}`,
      engine: input.engine,
      instance: input.id,
      address: input.address,
      version,
      ttlMs,
      registeredAt: new Date(now).toISOString(),
      renewedAt: new Date(now).toISOString(),
      expiresAtMs: now + ttlMs,
      lapsedAt: null,
      owner: who.name,
    };
    const field = `${input.engine}/${input.id}`;
    const again = this.lease(input.engine, input.id);
    await LEASES_NS.put(this.ctx.store, [[field, record]]);
    this.emit(input.engine, input.id, again ? 'registered again' : 'registered', record);
    return { leaseId: record.leaseId, ttlMs, heartbeatIntervalMs: Math.floor(ttlMs / 3) };
  }

  /** Throws unless `who` may make this registration (model/fleet/registration.ts has the rules). */
  private checkRegistrant(input: RegisterInput, who: Registrant): void {
    const spec = this.ctx.engines.getNow(input.engine);
    const lease = this.lease(input.engine, input.id);
    const listed = spec ? findInstance(spec, input.id) : undefined;
    // A lease from before owners were recorded belongs to whoever renews it.
    const owner = lease ? (lease.owner ?? who.name) : undefined;
    const existing =
      lease?.removedBy !== undefined
        ? { address: lease.address, owner, removedBy: lease.removedBy }
        : listed
          ? { address: listed.address, owner }
          : undefined;
    let registered = 0;
    for (const r of LEASES_NS.values(this.ctx.store))
      if (r.engine === input.engine && r.removedBy === undefined) registered++;
    const refusal = registrationRefusal(who, input, spec, existing, registered);
    if (refusal) throw new NerveError(refusal.code, refusal.message);
  }

  /** Lists the instance in its engine's spec (creating the engine when asked); returns its version. */
  private async list(input: RegisterInput, actor: string): Promise<string> {
    let version = input.version ?? '';
    let created = false;
    await updateEngine(
      this.ctx.engines,
      input.engine,
      { actor, summary: `register ${input.engine}/${input.id} at ${input.address}` },
      (current) => {
        created = current === undefined;
        const joined = engineToJoin(current, input);
        const base = joined.base;
        version = joined.version;
        const prev = findInstance(base, input.id);
        const next: InstanceSpec = {
          id: input.id,
          address: input.address,
          version,
          weight: input.weight ?? prev?.weight ?? 100,
          priority: input.priority ?? prev?.priority ?? 0,
          // An operator's drain outlives the instance's restarts and registrations.
          draining: prev?.draining ?? false,
        };
        if (prev && sameInstance(prev, next)) return undefined;
        const instances = prev
          ? base.instances.map((i) => (i.id === input.id ? next : i))
          : [...base.instances, next];
        const parsed = parseEngineSpec(toDocument({ ...base, instances }));
        if (!parsed.ok)
          throw new NerveError(
            'INVALID_ARGUMENT',
            `invalid registration: ${parsed.errors.join('; ')}`,
            parsed.errors,
          );
        return { ...parsed.value, revision: base.revision };
      },
    );
    if (created) {
      const record: RegisteredEngine = { createdAt: new Date().toISOString() };
      await REGISTERED_ENGINES_NS.put(this.ctx.store, [[input.engine, record]]);
    }
    return version;
  }

  /**
   * Leader: an engine a registration created, left with no instance for removeAfterMs, is removed; one
   * that was deleted or got an instance again is forgotten or kept.
   */
  private async sweepRegisteredEngines(fence: string, now: number): Promise<void> {
    for (const [engine, r] of REGISTERED_ENGINES_NS.map(this.ctx.store)) {
      const spec = this.ctx.engines.getNow(engine);
      if (!spec) {
        await REGISTERED_ENGINES_NS.put(this.ctx.store, [[engine, undefined]], fence);
        continue;
      }
      if (spec.instances.length > 0) {
        if (r.emptySinceMs !== undefined)
          await REGISTERED_ENGINES_NS.put(this.ctx.store, [[engine, { createdAt: r.createdAt }]], fence);
        continue;
      }
      if (r.emptySinceMs === undefined) {
        const next: RegisteredEngine = { createdAt: r.createdAt, emptySinceMs: now };
        await REGISTERED_ENGINES_NS.put(this.ctx.store, [[engine, next]], fence);
      } else if (now - r.emptySinceMs >= this.removeAfterMs) {
        await this.ctx.engines.delete(engine, {
          actor: 'leases',
          summary: `remove engine ${engine}: every instance that registered into it left`,
          fence,
        });
        await REGISTERED_ENGINES_NS.put(this.ctx.store, [[engine, undefined]], fence);
        this.ctx.events.record('lease_removed', engine, 'removed: every registered instance left');
      }
    }
  }

  async heartbeat(leaseId: string): Promise<LeaseGrant> {
    const record = this.find(leaseId);
    if (record.removedBy !== undefined)
      throw new NerveError(
        'FAILED_PRECONDITION',
        `${record.engine}/${record.instance} was removed by ${record.removedBy} at ${record.removedAt}: it is not re-added (an admin may register it again)`,
      );
    const spec = this.ctx.engines.getNow(record.engine);
    if (!spec || !findInstance(spec, record.instance))
      // Listed no longer, and no operator removed it (a config file restated the spec): listed again.
      await this.list(
        {
          engine: record.engine,
          id: record.instance,
          address: record.address,
          version: record.version,
          createEngine: true,
        },
        'leases',
      );
    const now = Date.now();
    const next: LeaseRecord = {
      ...record,
      renewedAt: new Date(now).toISOString(),
      expiresAtMs: now + record.ttlMs,
    };
    await LEASES_NS.put(this.ctx.store, [[`${record.engine}/${record.instance}`, next]]);
    return { leaseId, ttlMs: record.ttlMs, heartbeatIntervalMs: Math.floor(record.ttlMs / 3) };
  }

  /** Leaves: out of the spec at once, lease gone. */
  async deregister(leaseId: string, actor: string): Promise<void> {
    const record = this.find(leaseId, true);
    await updateEngine(
      this.ctx.engines,
      record.engine,
      { actor, summary: `deregister ${record.engine}/${record.instance}` },
      (current) =>
        current && findInstance(current, record.instance)
          ? { ...current, instances: current.instances.filter((i) => i.id !== record.instance) }
          : undefined,
    );
    await LEASES_NS.put(this.ctx.store, [[`${record.engine}/${record.instance}`, undefined]]);
    this.ctx.events.record('deregistered', record.engine, 'left (deregistered)', record.instance);
  }

  private find(leaseId: string, lapsedToo = false): LeaseRecord {
    const field = leaseId.slice(0, leaseId.lastIndexOf('/'));
    const record = LEASES_NS.get(this.ctx.store, field);
    if (!record || record.leaseId !== leaseId)
      throw new NerveError(
        'NOT_FOUND',
        record
          ? `lease ${echo(leaseId)} was replaced by a newer registration of ${echo(field)}`
          : `lease ${echo(leaseId)} not found (it lapsed and was removed, or never existed): register again`,
      );
    if (record.lapsedAt && !lapsedToo)
      throw new NerveError(
        'NOT_FOUND',
        `lease ${echo(leaseId)} lapsed at ${record.lapsedAt}: the instance left routing; register again`,
      );
    return record;
  }

  private emit(engine: string, instance: string, message: string, r: LeaseRecord): void {
    // Any replica takes registrations; the event log is the leader's, so a follower's goes to its log only.
    if (this.ctx.leader.leading)
      this.ctx.events.record(
        'registered',
        engine,
        `${message} at ${r.address} (ttl ${r.ttlMs} ms)`,
        instance,
        {
          address: r.address,
          ttlMs: r.ttlMs,
        },
      );
    else this.ctx.logger.info('instance registered', { engine, instance, address: r.address });
  }

  /**
   * Leader: an operator's change that took leased instances out of their engine (a delete, a replace,
   * a rollback) marks their leases removed, so their heartbeats do not list them again.
   */
  private noticeRemovals(change: ChangeRecord): void {
    const fence = this.ctx.leader.fence;
    if (!fence || NEUTRAL_ACTORS.has(change.actor) || OWN_CHANGES.test(change.summary)) return;
    const engines = new Set(change.ops.filter((o) => o.kind === ENGINE_KIND).map((o) => o.name));
    if (engines.size === 0) return;
    const at = new Date().toISOString();
    const removed: (readonly [string, LeaseRecord])[] = [];
    for (const [field, r] of LEASES_NS.map(this.ctx.store)) {
      if (!engines.has(r.engine) || r.removedBy !== undefined) continue;
      const spec = this.ctx.engines.getNow(r.engine);
      if (spec && findInstance(spec, r.instance)) continue;
      removed.push([field, { ...r, removedBy: change.actor, removedAt: at }]);
    }
    if (removed.length === 0) return;
    LEASES_NS.put(this.ctx.store, removed, fence).catch((err) =>
      this.ctx.logger.warn('could not mark removed instances', { error: String(err) }),
    );
  }

  /** Leader: lapse leases past their expiry, remove instances lapsed for removeAfterMs. */
  private async sweep(): Promise<void> {
    const fence = this.ctx.leader.fence;
    if (!fence) return;
    const now = Date.now();
    // Heartbeats had nowhere to go while no replica led (every control plane down, an election): a
    // lease lapses only after a whole TTL of this leader's watch, not at once for an outage it missed.
    if (fence !== this.sweptUnder) {
      this.sweptUnder = fence;
      this.leadingSinceMs = now;
    }
    const lapse: (readonly [string, LeaseRecord | undefined])[] = [];
    const remove: LeaseRecord[] = [];
    const forget: (readonly [string, LeaseRecord | undefined])[] = [];
    for (const [field, r] of LEASES_NS.map(this.ctx.store)) {
      if (r.removedBy !== undefined) {
        if (now - Date.parse(r.removedAt ?? '') >= REMOVED_KEPT_MS || !r.removedAt)
          forget.push([field, undefined]);
        continue;
      }
      if (!r.lapsedAt && Math.max(r.expiresAtMs, this.leadingSinceMs + r.ttlMs) < now) {
        lapse.push([field, { ...r, lapsedAt: new Date(now).toISOString() }]);
        this.ctx.events.record(
          'lease_lapsed',
          r.engine,
          `no heartbeat for ${now - Date.parse(r.renewedAt)} ms (ttl ${r.ttlMs} ms): out of routing`,
          r.instance,
          { address: r.address, renewedAt: r.renewedAt },
        );
      } else if (r.lapsedAt && now - Date.parse(r.lapsedAt) >= this.removeAfterMs) remove.push(r);
    }
    try {
      if (lapse.length > 0) await LEASES_NS.put(this.ctx.store, lapse, fence);
      if (forget.length > 0) await LEASES_NS.put(this.ctx.store, forget, fence);
      await this.sweepRegisteredEngines(fence, now);
      for (const r of remove) {
        await updateEngine(
          this.ctx.engines,
          r.engine,
          {
            actor: 'leases',
            summary: `remove ${r.engine}/${r.instance}: lease lapsed at ${r.lapsedAt}`,
            fence,
          },
          (current) =>
            current && findInstance(current, r.instance)
              ? { ...current, instances: current.instances.filter((i) => i.id !== r.instance) }
              : undefined,
        );
        await LEASES_NS.put(this.ctx.store, [[`${r.engine}/${r.instance}`, undefined]], fence);
        this.ctx.events.record(
          'lease_removed',
          r.engine,
          `removed ${this.removeAfterMs} ms after its lease lapsed`,
          r.instance,
        );
      }
    } catch (err) {
      this.ctx.logger.warn('lease sweep failed', { error: String(err) });
    }
  }
}

function sameInstance(a: InstanceSpec, b: InstanceSpec): boolean {
  return (
    a.address === b.address &&
    a.version === b.version &&
    a.weight === b.weight &&
    a.priority === b.priority &&
    a.draining === b.draining
  );
}

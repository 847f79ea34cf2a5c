import { acknowledge, type Alert, evaluateRule } from '../../model/alerts/alert';
import type { Channel } from '../../model/alerts/channel';
import {
  type GroupState,
  type Notification,
  planNotifications,
  severityOf,
} from '../../model/alerts/grouping';
import { AlertRouting, type EffectiveRoute, ROOT_ROUTE, type RouteTree } from '../../model/alerts/route';
import { inTimeInterval, type TimeInterval } from '../../model/alerts/time-interval';
import type { AlertRule } from '../../model/alerts/rule';
import { type SilenceDocument, toSilence } from '../../model/alerts/silence-schema';
import type { Logger } from '../../observability/logger';
import type { ConfigStore } from '../../store/config-store';
import type { FleetReads } from '../views/fleet-reads';
import {
  ALERT_RULE_KIND,
  CHANNEL_KIND,
  INHIBIT_RULE_KIND,
  SILENCE_KIND,
  ALERT_ROUTE_KIND,
  TIME_INTERVAL_KIND,
} from '../../model/kinds/config-kinds';
import { type InhibitRule, inhibitions } from '../../model/alerts/inhibition';
import type { EventBus } from '../kernel/events';
import type { LeaderElection } from '../leader/leader-election';
import { Disposables, type Module } from '../kernel/module';
import {
  ACKS_NS,
  ACTION_APPROVALS_NS,
  ACTIONS_KEPT,
  ALERTS_NS,
  type AlertingState,
  EMPTY_STATE,
  type OutboxEntry,
  RESOLVED_KEPT,
  STATE_FIELD,
} from './alert-state';
import { type FleetView, observe } from './observe';
import { type Attempt, Notifier } from './notifier';
import { ALERTMANAGER_RESEND_MS } from './channels/alertmanager';
import { type ActionRecord, type FleetFacts, planActions } from '../../model/alerts/action-plan';
import { type AlertActuator, takeAction } from './alert-actions';

/**
 * Alerting, once per fleet: the leader evaluates every rule every `evalMs` against the fleet's summary,
 * health, circuits, store and recent events; groups what fires into notifications; writes the state,
 * with each notification in an outbox, to the store under its fence before the first attempt; and
 * delivers. A new leader reads the state and delivers what the outbox has not done (each attempt carries
 * the notification's id, for receivers to drop a repeat). Every replica serves alerts from the store.
 */
export class AlertModule implements Module {
  readonly name = 'alerts';
  private readonly disposables = new Disposables();
  private timer: NodeJS.Timeout | undefined;
  private state: AlertingState = EMPTY_STATE;
  private persisted = '';
  private events: FleetView['events'][number][] = [];
  private readonly inFlight = new Set<string>();
  private running = false;
  private actuator: AlertActuator | undefined;
  private current$: Promise<void> = Promise.resolve();
  /** Evaluations this replica ran (figures, and tests waiting for time to pass in evaluations). */
  evaluations = 0;

  constructor(
    private readonly store: ConfigStore,
    private readonly reads: FleetReads,
    private readonly bus: EventBus,
    private readonly leader: LeaderElection,
    private readonly notifier: Notifier,
    private readonly logger: Logger,
    private readonly evalMs = 500,
    private readonly resendMs = ALERTMANAGER_RESEND_MS,
  ) {}

  start(): void {
    this.disposables.add(this.bus.on('leader.changed', () => this.schedule()));
    this.disposables.add(
      this.bus.on('config.changed', (c) =>
        this.events.push({
          event: 'config_changed',
          summary: `version ${c.version} by ${c.actor}: ${c.summary}`,
        }),
      ),
    );
    this.disposables.add(
      this.bus.on('fleet.event', (e) => {
        if (e.kind === 'crash_loop' || e.kind === 'lease_lapsed' || e.kind === 'rollout_rolled_back')
          this.events.push({
            event: e.kind,
            engine: e.engine,
            instance: e.instance,
            summary: `${e.engine}/${e.instance ?? ''}: ${e.message}`,
          });
      }),
    );
    this.disposables.add(
      this.bus.on('xds.nack', (n) =>
        this.events.push({
          event: 'xds_nack',
          summary: `${n.nodeId} rejected ${n.typeUrl} ${n.version}: ${n.error.slice(0, 300)}`,
        }),
      ),
    );
    this.schedule();
  }

  stop(): void {
    this.disposables.dispose();
    clearInterval(this.timer);
    this.timer = undefined;
    this.notifier.stop();
  }

  /** The alerting state every replica serves. */
  current(): AlertingState {
    return ALERTS_NS.get(this.store, STATE_FIELD) ?? EMPTY_STATE;
  }

  private schedule(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.leader.leading) return;
    // Take over where the last leader stopped: its alerts, groups and undelivered notifications.
    this.state = this.current();
    this.persisted = JSON.stringify(this.state);
    this.timer = setInterval(() => void this.tick(), this.evalMs);
    this.timer.unref();
    void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.running || !this.leader.leading) return;
    this.running = true;
    const done = (async () => {
      try {
        await this.evaluate(Date.now());
      } catch (err) {
        this.logger.warn('alert evaluation failed', { error: String(err) });
      } finally {
        this.running = false;
      }
    })();
    this.current$ = done;
    await done;
  }

  /**
   * An evaluation that starts after this call, on the leader; elsewhere nothing (the leader's next
   * evaluation, within its interval, takes the change). Resolves once its state is written.
   */
  async evaluateNow(): Promise<void> {
    if (!this.leader.leading || !this.timer) return;
    while (this.running) await this.current$;
    await this.tick();
  }

  /** One evaluation (public for tests). */
  async evaluate(now: number): Promise<void> {
    this.evaluations++;
    const rules = this.entries<AlertRule>(ALERT_RULE_KIND).filter((r) => r.enabled);
    const channels = this.entries<Channel>(CHANNEL_KIND);
    const silences = this.entries<SilenceDocument>(SILENCE_KIND).map(toSilence);
    const view = await this.view();
    let alerts = this.applyAcks([...this.state.alerts], now);
    for (const rule of rules) {
      const mine = alerts.filter((a) => a.rule === rule.id);
      const others = alerts.filter((a) => a.rule !== rule.id);
      alerts = [...others, ...evaluateRule(rule, mine, observe(rule, view), now)];
    }
    // Alerts of deleted or disabled rules resolve.
    const live = new Set(rules.map((r) => r.id));
    alerts = alerts.map((a) =>
      live.has(a.rule) || a.state === 'resolved' ? a : { ...a, state: 'resolved', resolvedAtMs: now },
    );
    alerts = trimResolved(alerts);
    const routing = new AlertRouting(
      new Map(rules.map((r) => [r.id, r])),
      this.entries<RouteTree>(ALERT_ROUTE_KIND).find((t) => t.name === ROOT_ROUTE),
    );
    const intervals = new Map(this.entries<TimeInterval>(TIME_INTERVAL_KIND).map((t) => [t.name, t]));
    const inhibited = inhibitions(alerts, this.entries<InhibitRule>(INHIBIT_RULE_KIND));
    const plan = planNotifications(
      routing,
      alerts,
      new Map(this.state.log.map((g) => [g.key, g])),
      silences,
      now,
      new Set(inhibited.keys()),
      (route) => mutedNow(route, intervals, now),
    );
    const outbox: OutboxEntry[] = [...this.state.outbox];
    for (const n of plan.notifications) {
      const engine = n.alerts[0]?.engine ?? null;
      for (const channel of Notifier.routed(channels, n.channels, severityOf(n.alerts), engine))
        outbox.push({
          id: `${n.group}#${n.seq}@${channel.name}`,
          channel: channel.name,
          notification: n,
          done: false,
        });
    }
    const approvals = ACTION_APPROVALS_NS.map(this.store);
    const actions = trimActions(
      planActions(
        routing.rules,
        alerts,
        this.state.actions ?? [],
        new Map([...approvals].map(([id, v]) => [id, v.by])),
        factsOf(view, this.actuator),
        now,
      ),
    );
    const resend = now - (this.state.resentAtMs ?? 0) >= this.resendMs;
    if (resend) outbox.push(...resends(routing, alerts, channels, plan.log.values(), now));
    this.state = {
      ...this.state,
      alerts,
      log: [...plan.log.values()],
      outbox: outbox.filter((o) => !o.done),
      inhibited: Object.fromEntries(inhibited),
      ...(resend && { resentAtMs: now }),
      actions,
    };
    // Written before an action is taken, as a notification is before it is sent: a new leader finds it
    // running and takes it again (each action is idempotent), never a second time for the same firing.
    await this.persist();
    this.deliver(channels);
    await this.act(approvals);
  }

  /** Binds what actions change (the admin commands), once the control plane is composed. */
  bindActuator(actuator: AlertActuator): void {
    this.actuator = actuator;
  }

  /** Takes the running actions and undoes the resolved ones, then records how they went. */
  private async act(approvals: ReadonlyMap<string, unknown>): Promise<void> {
    const act = this.actuator;
    const due = (this.state.actions ?? []).filter((r) => r.state === 'running' || r.state === 'undoing');
    if (act && due.length > 0) {
      const done = new Map<string, ActionRecord>();
      for (const r of due) done.set(r.id, await takeAction(r, act, this.logger));
      this.state = { ...this.state, actions: (this.state.actions ?? []).map((r) => done.get(r.id) ?? r) };
      await this.persist();
    }
    const applied = [...approvals.keys()].filter((id) => {
      const r = this.state.actions?.find((x) => x.id === id);
      return !r || r.state !== 'awaiting-approval';
    });
    const fence = this.leader.fence;
    if (fence && applied.length > 0)
      await ACTION_APPROVALS_NS.put(
        this.store,
        applied.map((id) => [id, undefined] as const),
        fence,
      ).catch(() => undefined);
  }

  private deliver(channels: readonly Channel[]): void {
    for (const entry of this.state.outbox) {
      if (entry.done || this.inFlight.has(entry.id)) continue;
      const channel = channels.find((c) => c.name === entry.channel);
      if (!channel) {
        this.finish(entry.id);
        continue;
      }
      this.inFlight.add(entry.id);
      this.notifier.send(channel, entry.notification, entry.id);
    }
  }

  /** A delivery attempt: recorded on its alerts; the entry is done on success or after the last attempt. */
  onAttempt(n: Notification, id: string, attempt: Attempt, last: boolean): void {
    const attempts = { ...this.state.attempts };
    for (const a of n.alerts) attempts[a.id] = [...(attempts[a.id] ?? []), attempt].slice(-20);
    this.state = { ...this.state, attempts };
    if (attempt.ok || last) this.finish(id);
    void this.persist().catch(() => undefined);
  }

  private finish(id: string): void {
    this.inFlight.delete(id);
    this.state = { ...this.state, outbox: this.state.outbox.filter((o) => o.id !== id) };
  }

  private async persist(): Promise<void> {
    const json = JSON.stringify(this.state);
    if (json === this.persisted) return;
    const fence = this.leader.fence;
    if (!fence) return;
    await ALERTS_NS.put(this.store, [[STATE_FIELD, JSON.parse(json) as AlertingState]], fence);
    this.persisted = json;
  }

  /** Acknowledgements taken by any replica since the last evaluation. */
  private applyAcks(alerts: Alert[], now: number): Alert[] {
    const acks = ACKS_NS.map(this.store);
    if (acks.size === 0) return alerts;
    const applied: string[] = [];
    const out = alerts.map((a) => {
      const ack = acks.get(a.id) as { by: string; atMs: number } | undefined;
      if (!ack) return a;
      applied.push(a.id);
      return acknowledge(a, ack.by, ack.atMs || now);
    });
    const stale = [...acks.keys()].filter((id) => !alerts.some((a) => a.id === id));
    const fence = this.leader.fence;
    if (fence)
      void ACKS_NS.put(
        this.store,
        [...applied, ...stale].map((id) => [id, undefined] as const),
        fence,
      ).catch(() => undefined);
    return out;
  }

  private async view(): Promise<FleetView> {
    const summary = this.reads.summary();
    const health = await this.reads.health();
    const circuits = await this.reads.circuits();
    const events = this.events;
    this.events = [];
    return {
      overall: summary.overall,
      summaries: new Map(summary.engines.map((e) => [e.name, e])),
      health: new Map(health.engines.map((e) => [e.name, e])),
      circuits: new Map(circuits.map((c) => [c.engine, c])),
      store: this.store.status(),
      events,
    };
  }

  private entries<T>(kind: string): T[] {
    return this.store.list(kind).map((e) => e.value as unknown as T);
  }
}

/**
 * The groups still firing, sent again to their Alertmanager channels (which resolve what they stop
 * hearing of): the alerts each group's last notification listed, as they stand now.
 */
function resends(
  routing: AlertRouting,
  alerts: readonly Alert[],
  channels: readonly Channel[],
  groups: Iterable<GroupState>,
  now: number,
): OutboxEntry[] {
  const out: OutboxEntry[] = [];
  const byId = new Map(alerts.map((a) => [a.id, a]));
  for (const g of groups) {
    const route = routing.route(g.route ?? g.rule);
    const firing = g.notified
      .map((id) => byId.get(id))
      .filter((a): a is Alert => a !== undefined && (a.state === 'firing' || a.state === 'acknowledged'));
    if (!route || firing.length === 0) continue;
    const targets = Notifier.routed(channels, route.channels, severityOf(firing), firing[0].engine).filter(
      (c) => c.type === 'alertmanager',
    );
    for (const channel of targets)
      out.push({
        id: `${g.key}#${g.seq}@${channel.name}+${now}`,
        channel: channel.name,
        notification: {
          group: g.key,
          seq: g.seq,
          rule: g.rule,
          status: 'firing',
          labels: g.labels,
          alerts: firing,
          channels: [channel.name],
        },
        done: false,
      });
  }
  return out;
}

/** What the action guards read: the engine's healthy instances (its health view) and its replicas. */
function factsOf(view: FleetView, actuator: AlertActuator | undefined): FleetFacts {
  return {
    healthy: (engine, instance) => {
      const list = view.health.get(engine)?.instances ?? [];
      return {
        healthy: list.filter((i) => i.health === 'healthy').length,
        instanceHealthy: list.some((i) => i.id === instance && i.health === 'healthy'),
      };
    },
    replicas: (engine) => actuator?.replicas(engine),
  };
}

/** Records still in play are kept; of the finished, the newest. */
function trimActions(records: ActionRecord[]): ActionRecord[] {
  const open = (r: ActionRecord) =>
    r.state === 'running' ||
    r.state === 'undoing' ||
    r.state === 'awaiting-approval' ||
    (r.state === 'done' && r.undo);
  const finished = records.filter((r) => !open(r));
  if (finished.length <= ACTIONS_KEPT) return records;
  const keep = new Set(finished.slice(-ACTIONS_KEPT).map((r) => r.id));
  return records.filter((r) => open(r) || keep.has(r.id));
}

/** A route's notifications are held while one of its mute intervals holds, or none of its active ones does. */
function mutedNow(route: EffectiveRoute, intervals: ReadonlyMap<string, TimeInterval>, now: number): boolean {
  if (route.muteTimeIntervals.some((n) => inTimeInterval(intervals.get(n), now))) return true;
  return (
    route.activeTimeIntervals.length > 0 &&
    !route.activeTimeIntervals.some((n) => inTimeInterval(intervals.get(n), now))
  );
}

function trimResolved(alerts: Alert[]): Alert[] {
  const resolved = alerts
    .filter((a) => a.state === 'resolved')
    .sort((a, b) => b.resolvedAtMs - a.resolvedAtMs);
  if (resolved.length <= RESOLVED_KEPT) return alerts;
  const keep = new Set(resolved.slice(0, RESOLVED_KEPT).map((a) => a.id + a.startedAtMs));
  return alerts.filter((a) => a.state !== 'resolved' || keep.has(a.id + a.startedAtMs));
}

import { BASELINE_SUFFIX, baselineVersion } from '../../model/runtime';
import { atRolloutWeight } from '../../model/rollout-engine';
import {
  ACTIVE,
  type GateAnswer,
  type Rollout,
  type RolloutCommand,
  type RolloutStep,
  type Verdict,
} from '../../model/rollout';
import type { CallWindows } from '../calls/call-windows';
import { updateEngine } from '../config/engine-catalog';
import type { EventBus } from '../kernel/events';
import type { FleetContext } from '../fleet/fleet-context';
import { Disposables, type Module } from '../kernel/module';
import { SharedNamespace } from '../../store/shared-namespace';
import { askGate, firstNo, said, tellEvents } from './rollout-gates';
import { RolloutEvidence } from './rollout-evidence';

/** Shared namespace of rollouts: field `engine/id`. */
export const ROLLOUTS_NS = new SharedNamespace<Rollout>(
  'rollouts',
  'the leader, fenced; a new rollout by the replica that took it',
);
/** Operators' actions, taken by the leader: field `engine/id`. */
export const ROLLOUT_COMMANDS_NS = new SharedNamespace<RolloutCommand>(
  'rollout-commands',
  'the replica that took the command; the leader clears it',
);
export type RolloutOp = 'pause' | 'resume' | 'abort' | 'promote';

const TICK_MS = 100;
const KEEP_HISTORY = 200;

/**
 * Canary rollouts on the leader. Each step sets the new version's share of traffic (a versioned,
 * fenced change of the engine's version weights by `rollout`; with the process driver its replicas
 * follow the share, the stable ones kept whole so a rollback has the capacity to take everything back),
 * then judges the new version against the others over the interval from every router's reports. A
 * pass moves on (after the last step: promotion), a failed check counts (at `failedChecks`: rollback,
 * the new version's weight to 0 at once), too few calls waits, and no call at all follows `noTraffic`.
 * Every step's verdict and evidence stay in the rollout; events, the `rollouts` feed topic and the
 * `rollout_rolled_back` alert follow.
 */
export class RolloutModule implements Module {
  readonly name = 'rollouts';
  private readonly disposables = new Disposables();
  private running = false;
  private readonly evidence: RolloutEvidence;

  constructor(
    private readonly ctx: FleetContext,
    private readonly bus: EventBus,
    windows: CallWindows,
  ) {
    this.evidence = new RolloutEvidence(ctx, windows);
  }

  start(): void {
    this.disposables.add(this.bus.on('report.received', (r) => this.evidence.record(r)));
    this.disposables.add(
      this.ctx.store.watchShared((c) => {
        const rollout = ROLLOUTS_NS.changed(c)?.value;
        if (rollout) this.bus.emit('rollout.changed', rollout);
      }),
    );
    // A new leader judges from its own reports: the step in progress starts its interval afresh.
    this.disposables.add(
      this.bus.on('leader.changed', (l) => {
        if (l.leading) void this.restartIntervals();
      }),
    );
    const timer = setInterval(() => void this.tick(), TICK_MS);
    timer.unref();
    this.disposables.add(() => clearInterval(timer));
  }

  stop(): void {
    this.evidence.drive([]);
    this.disposables.dispose();
  }

  list(engine?: string): Rollout[] {
    return [...ROLLOUTS_NS.values(this.ctx.store)]
      .map((v) => v)
      .filter((r) => !engine || r.engine === engine)
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  private async restartIntervals(): Promise<void> {
    const fence = this.ctx.leader.fence;
    if (!fence) return;
    for (const r of this.list())
      if (r.state === 'progressing' && r.step >= 0) {
        this.evidence.reset(`${r.engine}/`);
        await this.save({ ...r, stepStartedAtMs: Date.now() }, fence);
      }
  }

  private async tick(): Promise<void> {
    const fence = this.ctx.leader.fence;
    if (!fence) this.evidence.drive([]);
    if (!fence || this.running) return;
    this.running = true;
    try {
      await this.takeCommands(fence);
      this.evidence.drive(this.list());
      const now = Date.now();
      for (const r of this.list()) {
        if (r.state !== 'progressing') continue;
        if (r.step < 0) {
          // Waiting for a confirm-rollout gate: asked again once an interval.
          if (r.stepStartedAtMs === 0 || now >= r.stepStartedAtMs + r.intervalMs)
            await this.begin(r, fence, now);
        } else if (now >= r.stepStartedAtMs + r.intervalMs) await this.judge(r, fence, now);
      }
    } catch (err) {
      this.ctx.logger.warn('rollout step failed', { error: String(err) });
    } finally {
      this.running = false;
    }
  }

  private async begin(r: Rollout, fence: string, now: number): Promise<void> {
    const spec = this.ctx.engines.getNow(r.engine);
    if (!spec) return this.finish(r, 'aborted', fence, `engine ${r.engine} was deleted`);
    const unconfirmed = await firstNo(r, 'confirm-rollout', 'Initializing');
    if (unconfirmed) return this.hold(r, unconfirmed, fence, now);
    const refused = await firstNo(r, 'pre-rollout', 'Initializing');
    if (refused) return this.gateFailed(r, refused, fence, now);
    const original = Object.fromEntries(
      spec.versions
        .filter((v) => v.name !== r.version && !v.name.endsWith(BASELINE_SUFFIX))
        .map((v) => [v.name, v.weight]),
    );
    const baseline = r.analysis.baseline
      ? // The version the process driver runs (as versionGroups reads it).
        baselineVersion(spec.runtime?.version ?? spec.versions[0].name)
      : undefined;
    const started = { ...r, original, ...(baseline !== undefined && { baseline }) };
    await this.setWeight(started, r.steps[0], fence);
    this.evidence.reset(`${r.engine}/`);
    tellEvents(r, 'Progressing', `rollout ${r.id}: ${r.version} at ${r.steps[0]} %`);
    this.ctx.events.record(
      'rollout_started',
      r.engine,
      `rollout ${r.id}: ${r.version} at ${r.steps[0]} %`,
      undefined,
      {
        rollout: r.id,
        version: r.version,
      },
    );
    await this.save(
      {
        ...started,
        step: 0,
        weight: r.steps[0],
        stepStartedAtMs: Date.now(),
        history: append(r, { weight: r.steps[0], verdict: 'started' }),
      },
      fence,
    );
  }

  private async judge(r: Rollout, fence: string, now: number): Promise<void> {
    const spec = this.ctx.engines.getNow(r.engine);
    if (!spec) return this.finish(r, 'aborted', fence, `engine ${r.engine} was deleted`);
    const heard: GateAnswer[] = [];
    const rollback = await firstNo(r, 'rollback', 'Progressing', heard);
    if (rollback)
      return this.finish(
        { ...r, history: append(r, { weight: r.weight, verdict: 'gate', gate: rollback }, said(rollback)) },
        'rolled_back',
        fence,
        `${said(rollback)}: rollback asked`,
      );
    const refused = await firstNo(r, 'rollout', 'Progressing', heard);
    if (refused) return this.gateFailed(r, refused, fence, now);
    const { verdict, evidence, metricFailures } = await this.evidence.check(r, spec, now - r.stepStartedAtMs);
    if (metricFailures) r = { ...r, metricFailures };
    // The gates asked at this check, confirmations included (pushed as they answer, before it is written).
    const step: Omit<RolloutStep, 'at'> = { weight: r.weight, verdict, evidence, gates: heard };
    let effective: Verdict = verdict;
    if (verdict === 'no_traffic') {
      if (r.analysis.noTraffic === 'promote') effective = 'pass';
      else if (r.analysis.noTraffic === 'rollback') {
        return this.finish({ ...r, history: append(r, step) }, 'rolled_back', fence, evidence.reason);
      }
    }
    if (effective === 'fail') {
      const failedChecks = r.failedChecks + 1;
      const next = {
        ...r,
        failedChecks,
        inconclusiveChecks: 0,
        stepStartedAtMs: now,
        history: append(r, step),
      };
      if (failedChecks >= r.analysis.failedChecks)
        return this.finish(next, 'rolled_back', fence, `${failedChecks} failed checks: ${evidence.reason}`);
      return this.save(next, fence);
    }
    if (effective !== 'pass') return this.undecided(r, step, fence, now);
    const nextStep = r.step + 1;
    const promoting = nextStep >= r.steps.length || r.steps[r.step] >= 100;
    const confirm = await firstNo(
      r,
      promoting ? 'confirm-promotion' : 'confirm-traffic-increase',
      promoting ? 'Promoting' : 'Progressing',
      heard,
    );
    r = { ...r, inconclusiveChecks: 0 };
    if (confirm) return this.hold({ ...r, history: append(r, step) }, confirm, fence, now);
    if (promoting) return this.finish({ ...r, history: append(r, step) }, 'promoted', fence, evidence.reason);
    const weight = r.steps[nextStep];
    await this.setWeight(r, weight, fence);
    tellEvents(r, 'Progressing', `rollout ${r.id}: ${r.version} to ${weight} % (${evidence.reason})`);
    this.ctx.events.record(
      'rollout_step',
      r.engine,
      `rollout ${r.id}: ${r.version} to ${weight} % (${evidence.reason})`,
      undefined,
      {
        rollout: r.id,
        weight,
      },
    );
    await this.save({ ...r, step: nextStep, weight, stepStartedAtMs: now, history: append(r, step) }, fence);
  }

  /** Ends a rollout: promotion gives the new version everything, rollback and abort give it nothing. */
  private async finish(
    r: Rollout,
    state: 'promoted' | 'rolled_back' | 'aborted',
    fence: string,
    reason: string,
    by?: string,
  ): Promise<void> {
    // A rollout that never began (waiting for confirm-rollout) changed no weight: nothing to undo.
    if ((r.step >= 0 || state === 'promoted') && this.ctx.engines.getNow(r.engine))
      await this.setWeight(
        r,
        state === 'promoted' ? 100 : 0,
        fence,
        state === 'promoted' ? 'promote' : 'end',
      );
    const weight = state === 'promoted' ? 100 : 0;
    const kind =
      state === 'promoted'
        ? 'rollout_promoted'
        : state === 'rolled_back'
          ? 'rollout_rolled_back'
          : 'rollout_aborted';
    this.ctx.events.record(
      kind,
      r.engine,
      `rollout ${r.id} of ${r.version} ${state.replace('_', ' ')}: ${reason}`,
      undefined,
      {
        rollout: r.id,
        version: r.version,
      },
    );
    const ended = { ...r, state, weight, history: append(r, { weight, verdict: state, by }, reason) };
    await this.save(ended, fence);
    const phase = state === 'promoted' ? 'Succeeded' : 'Failed';
    tellEvents(ended, phase, `rollout ${r.id} of ${r.version} ${state.replace('_', ' ')}: ${reason}`);
    // post-rollout gates are told how it ended; their answers are recorded, nothing more.
    for (const w of (r.webhooks ?? []).filter((x) => x.type === 'post-rollout')) {
      const a = await askGate(w, ended, phase);
      const latest = ROLLOUTS_NS.get(this.ctx.store, `${r.engine}/${r.id}`) ?? ended;
      await this.save(
        { ...latest, history: append(latest, { weight, verdict: 'gate', gate: a }, said(a)) },
        fence,
      );
    }
  }

  /**
   * A check that decided nothing: the step waits for the next, up to analysis.maxInconclusiveChecks in a
   * row; then the rollout pauses and says why (Argo's inconclusive pause): never a promotion or a
   * rollback on no evidence.
   */
  private async undecided(
    r: Rollout,
    step: Omit<RolloutStep, 'at'>,
    fence: string,
    now: number,
  ): Promise<void> {
    const inconclusiveChecks = (r.inconclusiveChecks ?? 0) + 1;
    const next = { ...r, inconclusiveChecks, stepStartedAtMs: now, history: append(r, step) };
    const limit = r.analysis.maxInconclusiveChecks ?? 10;
    if (inconclusiveChecks < limit) return this.save(next, fence);
    const reason = `inconclusive: ${inconclusiveChecks} checks in a row decided nothing (last: ${step.evidence?.reason ?? step.verdict}); resume to wait longer, or promote or abort`;
    this.ctx.events.record('rollout_paused', r.engine, `rollout ${r.id} paused: ${reason}`, undefined, {
      rollout: r.id,
      version: r.version,
    });
    tellEvents(r, 'Progressing', `rollout ${r.id} paused: ${reason}`);
    await this.save(
      {
        ...next,
        state: 'paused',
        inconclusiveChecks: 0,
        history: append(next, { weight: r.weight, verdict: 'inconclusive' }, reason),
      },
      fence,
    );
  }

  /**
   * A gate said no to going on (confirm-*): the rollout holds where it is and asks again after an
   * interval; the answer is recorded once, not at every asking.
   */
  private async hold(r: Rollout, a: GateAnswer, fence: string, now: number): Promise<void> {
    const last = r.history[r.history.length - 1];
    const reason = `${said(a)}: held`;
    const history =
      last?.verdict === 'gate' && last.reason === reason
        ? r.history
        : append(r, { weight: r.weight, verdict: 'gate', gate: a }, reason);
    await this.save({ ...r, stepStartedAtMs: now, history: [...history] }, fence);
  }

  /** A pre-rollout or rollout gate said no: a failed check, as a failed analysis is. */
  private async gateFailed(r: Rollout, a: GateAnswer, fence: string, now: number): Promise<void> {
    const failedChecks = r.failedChecks + 1;
    const next = {
      ...r,
      failedChecks,
      stepStartedAtMs: now,
      history: append(r, { weight: r.weight, verdict: 'fail', gate: a }, said(a)),
    };
    if (failedChecks >= r.analysis.failedChecks)
      return this.finish(next, 'rolled_back', fence, `${failedChecks} failed checks: ${said(a)}`);
    await this.save(next, fence);
  }

  /** Sets the new version's share, and its replicas with the process driver (atRolloutWeight). */
  private async setWeight(
    r: Rollout,
    percent: number,
    fence: string,
    end?: 'promote' | 'end',
  ): Promise<void> {
    await updateEngine(
      this.ctx.engines,
      r.engine,
      { actor: `rollout:${r.id}`, summary: `rollout ${r.id}: ${r.version} at ${percent} %`, fence },
      (current) => current && atRolloutWeight(current, r, percent, end),
    );
  }

  private async save(r: Rollout, fence: string): Promise<void> {
    await ROLLOUTS_NS.put(this.ctx.store, [[`${r.engine}/${r.id}`, r]], fence);
  }

  private async takeCommands(fence: string): Promise<void> {
    const commands = ROLLOUT_COMMANDS_NS.entries(this.ctx.store);
    if (commands.length === 0) return;
    await ROLLOUT_COMMANDS_NS.put(
      this.ctx.store,
      commands.map(([field]) => [field, undefined] as const),
      fence,
    );
    for (const [field, value] of commands) {
      const r = ROLLOUTS_NS.get(this.ctx.store, field);
      const { op, by } = value;
      if (!r || !ACTIVE.has(r.state)) continue;
      if (op === 'abort') await this.finish(r, 'aborted', fence, `aborted by ${by}`, by);
      else if (op === 'promote') await this.finish(r, 'promoted', fence, `promoted by ${by}`, by);
      else if (op === 'pause' && r.state === 'progressing') {
        this.ctx.events.record('rollout_paused', r.engine, `rollout ${r.id} paused by ${by}`);
        await this.save(
          {
            ...r,
            state: 'paused',
            history: append(r, { weight: r.weight, verdict: 'manual', by }, 'paused'),
          },
          fence,
        );
      } else if (op === 'resume' && r.state === 'paused') {
        this.ctx.events.record('rollout_resumed', r.engine, `rollout ${r.id} resumed by ${by}`);
        this.evidence.reset(`${r.engine}/`);
        await this.save(
          {
            ...r,
            state: 'progressing',
            stepStartedAtMs: Date.now(),
            history: append(r, { weight: r.weight, verdict: 'manual', by }, 'resumed'),
          },
          fence,
        );
      }
    }
  }
}

function append(r: Rollout, step: Omit<RolloutStep, 'at'>, reason?: string): RolloutStep[] {
  const entry: RolloutStep = {
    at: new Date().toISOString(),
    ...step,
    ...(reason !== undefined && { reason }),
  };
  // Stored as JSON: undefined fields dropped, and no empty list of gates.
  const stored = JSON.parse(JSON.stringify(entry)) as RolloutStep & { gates?: unknown[] };
  if (stored.gates?.length === 0) delete stored.gates;
  return [...r.history, stored].slice(-KEEP_HISTORY);
}

import { Counter, type Registry } from 'prom-client';
import { type Channel, routes } from '../../model/alerts/channel';
import type { Notification } from '../../model/alerts/grouping';
import type { Severity } from '../../model/alerts/rule';
import type { Logger } from '../../observability/logger';
import { CHANNEL_SENDERS } from './channels/registry';
import { resolveChannel } from './channels/channel-url';

/** One attempt to deliver a notification, as the alert shows it. */
export interface Attempt {
  readonly channel: string;
  readonly at: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly attempt: number;
}

/**
 * Delivers notifications to their channels, off the evaluation's path: each channel on its own, each
 * attempt bounded by the channel's timeout, failed attempts retried with doubling backoff (500 ms,
 * 1 s, 2 s, …) up to the channel's attempts. A dead receiver costs only its own timers; nothing waits
 * on it and nothing it does throws out of here. Every attempt is reported (`onAttempt`) and counted.
 */
export class Notifier {
  private readonly attempts: Counter<'channel' | 'outcome'>;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    registry: Registry,
    private readonly logger: Logger,
    private readonly externalUrl: () => string,
    /** `final`: no attempt follows (delivered, or out of attempts). */
    private readonly onAttempt: (n: Notification, id: string, a: Attempt, final: boolean) => void,
    private readonly backoffMs = 500,
  ) {
    this.attempts = new Counter({
      name: 'nerve_alert_notifications_total',
      help: 'Attempts to deliver alert notifications, by channel and outcome',
      labelNames: ['channel', 'outcome'],
      registers: [registry],
    });
  }

  /** The channels of `names` that take a notification of this severity about this engine. */
  static routed(
    channels: readonly Channel[],
    names: readonly string[],
    severity: Severity,
    engine: string | null,
  ) {
    return channels.filter((c) => names.includes(c.name) && routes(c, severity, engine));
  }

  /** Starts delivering `n` to `channel`; `id` is the notification's id, the same in every attempt. */
  send(channel: Channel, n: Notification, id: string, attempt = 1): void {
    if (this.stopped) return;
    const sender = CHANNEL_SENDERS.get(channel.type);
    if (!sender) return;
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new Error(`no answer within ${channel.timeoutMs} ms`)),
      channel.timeoutMs,
    );
    const ctx = { externalUrl: this.externalUrl(), signal: abort.signal, notificationId: id };
    void resolveChannel(channel)
      .then((resolved) => sender(resolved, n, ctx))
      .then(
        () => undefined,
        (err: unknown) => (abort.signal.aborted ? String(abort.signal.reason) : errorText(err)),
      )
      .then((error) => {
        clearTimeout(timer);
        const ok = error === undefined;
        this.attempts.inc({ channel: channel.name, outcome: ok ? 'ok' : 'error' });
        const final = ok || this.stopped || attempt >= channel.attempts;
        this.onAttempt(
          n,
          id,
          { channel: channel.name, at: new Date().toISOString(), ok, attempt, ...(error && { error }) },
          final,
        );
        if (ok || this.stopped) return;
        if (attempt >= channel.attempts) {
          this.logger.warn('alert notification not delivered', {
            channel: channel.name,
            group: n.group,
            attempts: attempt,
            error,
          });
          return;
        }
        const retry = setTimeout(
          () => {
            this.timers.delete(retry);
            this.send(channel, n, id, attempt + 1);
          },
          this.backoffMs * 2 ** (attempt - 1),
        );
        retry.unref();
        this.timers.add(retry);
      });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code
      ? `${err.message}: ${cause.code}`
      : cause?.message
        ? `${err.message}: ${cause.message}`
        : err.message;
  }
  return String(err);
}

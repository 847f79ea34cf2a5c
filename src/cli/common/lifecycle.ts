import type { Logger } from '../../observability/logger';

/**
 * One Ctrl-C can arrive twice: the terminal signals the whole foreground group, and `npm start` forwards
 * it to its child as well. A repeat of the same signal this soon is that one press, not a second.
 */
const SAME_PRESS_MS = 1_000;

/**
 * SIGTERM/SIGINT: stop accepting, drain, finish in-flight calls, exit 0 — or exit 1 if that takes longer
 * than the grace period or a second signal arrives (a repeat within SAME_PRESS_MS is the same one).
 */
export function exitOnSignal(
  logger: Logger,
  stop: () => Promise<void>,
  graceMs = 10_000,
  now: () => number = Date.now,
): void {
  let stopping: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === stopping.signal && now() - stopping.at < SAME_PRESS_MS) return;
      logger.warn('second signal; exiting now', { signal });
      process.exit(1);
    }
    stopping = { signal, at: now() };
    logger.info('shutting down', { signal, graceMs });
    const timer = setTimeout(() => {
      logger.error('shutdown took longer than the grace period; exiting', { graceMs });
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error('shutdown failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

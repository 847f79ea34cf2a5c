import type { Logger } from '../observability/logger';

/**
 * SIGTERM/SIGINT: stop accepting, drain, finish in-flight calls, exit 0 — or exit 1 if that takes longer
 * than the grace period or a second signal arrives.
 */
export function exitOnSignal(logger: Logger, stop: () => Promise<void>, graceMs = 10_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn('second signal; exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
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

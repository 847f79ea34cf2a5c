import { UsageError } from './options';

/**
 * Runs `start` (which listens on `port`); an address in use or not allowed becomes a UsageError naming
 * the setting, so the operator reads "API_PORT 3000 is in use" instead of a stack trace.
 */
export async function listening<T>(setting: string, port: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`;
    if (/EADDRINUSE|address already in use/i.test(text))
      throw new UsageError(
        `${setting} ${port} is in use by another process: choose another port (0 picks a free one)`,
      );
    if (/EACCES|permission denied/i.test(text))
      throw new UsageError(
        `${setting} ${port} is not allowed for this user (ports below 1024 need privileges)`,
      );
    if (/EADDRNOTAVAIL|ENOTFOUND|EAI_AGAIN/i.test(text))
      throw new UsageError(
        `cannot listen for ${setting} ${port}: the host address is not on this machine (--host / HOST)`,
      );
    throw err;
  }
}

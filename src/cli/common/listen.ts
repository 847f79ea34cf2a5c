import { createServer } from 'node:net';
import { UsageError } from './options';

/**
 * Checks, before anything listens, that every fixed port (0 picks a free one) can be bound on `host`:
 * a start that would fail half way (engines up, then the API's port taken) fails first instead, with
 * every problem named at once. A port taken between this check and the real bind still fails there,
 * through `listening`.
 */
export async function checkPorts(host: string, ports: readonly (readonly [string, number])[]): Promise<void> {
  const problems: string[] = [];
  const seen = new Map<number, string>();
  for (const [setting, port] of ports) {
    if (port === 0) continue;
    const twice = seen.get(port);
    if (twice) {
      problems.push(`${setting} ${port} is also ${twice}: give each its own port`);
      continue;
    }
    seen.set(port, setting);
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const server = createServer();
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      server.listen(port, host, () => server.close(() => resolve(undefined)));
    });
    if (!error) continue;
    problems.push(
      error.code === 'EADDRINUSE'
        ? `${setting} ${port} is in use by another process: choose another port (0 picks a free one)`
        : error.code === 'EACCES'
          ? `${setting} ${port} is not allowed for this user (ports below 1024 need privileges)`
          : `cannot listen for ${setting} ${port} on ${host}: ${error.message}`,
    );
  }
  if (problems.length === 1) throw new UsageError(problems[0]);
  if (problems.length > 1)
    throw new UsageError(`${problems.length} ports cannot be used:\n  ${problems.join('\n  ')}`);
}

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

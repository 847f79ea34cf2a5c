/**
 * Suites and tests that need a tool from outside npm (redis-server, promtool, Chromium): with it they
 * run; without it they are listed as skipped with the reason in their name, never passed in silence.
 * CI (.ci/run) installs every one of them.
 */
export function withTool(available: boolean, tool: string) {
  const reason = (name: string) => `${name} (skipped: ${tool} is not installed)`;
  return {
    describe(name: string, fn: () => void): void {
      if (available) describe(name, fn);
      else describe.skip(reason(name), fn);
    },
    it(name: string, fn: jest.ProvidesCallback, timeoutMs?: number): void {
      if (available) it(name, fn, timeoutMs);
      else it.skip(reason(name), fn, timeoutMs);
    },
  };
}

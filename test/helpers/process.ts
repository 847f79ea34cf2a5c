import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const NERVE_BIN = join(__dirname, '..', '..', 'bin', 'nerve.js');

export interface Spawned {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout match of `pattern`, or rejects when the process exits or time runs out. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the built `nerve` command (npm test builds dist/ first, in pretest). */
export function spawnNerve(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  return spawnWatched(process.execPath, [NERVE_BIN, ...args], env);
}

/** Runs a command with its output kept and awaitable. */
export function spawnWatched(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(command, args, {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: () => exit,
    waitForOutput(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            finish(
              new Error(
                `no output matching ${pattern} within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`,
              ),
            ),
          timeoutMs,
        );
        const check = () => {
          const m = out.match(pattern);
          if (m) finish(undefined, m);
        };
        const onExit = () =>
          finish(new Error(`process exited before printing ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
        function finish(e?: Error, m?: RegExpMatchArray) {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          child.off('exit', onExit);
          if (e) reject(e);
          else resolve(m!);
        }
        child.stdout!.on('data', check);
        child.on('exit', onExit);
        check();
      });
    },
  };
}

/** Debian's interpreter, where python3-grpcio and python3-h2 live (.ci/run installs them). */
export const PYTHON = '/usr/bin/python3';

/** Runs a script of test/interop/ with Debian's Python; resolves with its stdout, rejects with its stderr. */
export function runPython(script: string, args: string[], timeoutMs = 60_000): Promise<string> {
  if (!existsSync(PYTHON))
    throw new Error(`${PYTHON} is missing: install Debian's python3 packages (.ci/run does)`);
  return new Promise<string>((resolve, reject) =>
    execFile(
      PYTHON,
      [join(__dirname, '..', 'interop', script), ...args],
      { timeout: timeoutMs },
      (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
    ),
  );
}

import { createHash } from 'node:crypto';
import type { EngineSpec } from '../../model/engine';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of managed processes: field `engine/instance`, written by the leader (fenced). */
export const PROCESSES_NS = new SharedNamespace<ProcessRecord>(
  'processes',
  'the leader (process driver), fenced',
);

/** What every replica knows of one managed instance (views, and adoption by the next leader). */
export interface ProcessRecord {
  readonly engine: string;
  readonly id: string;
  readonly state: string;
  readonly desired: 'running' | 'stopped';
  readonly address: string;
  readonly port: number;
  /** The host (hostname) it runs on: a leader on the same host may adopt it by pid. */
  readonly host: string;
  /** The replica that supervises it. */
  readonly replica: string;
  readonly pid: number;
  readonly startTicks: number | null;
  /** Adopted from a previous leader: its output went on to files, its exit status is not known. */
  readonly adopted: boolean;
  readonly version: string;
  /** Digest of what it was started from (command, args, env, version): a change rolls it. */
  readonly hash: string;
  readonly crashes: number;
  readonly restarts: number;
  readonly startedAt: string | null;
  readonly readyAt: string | null;
  readonly nextStartAt: string | null;
  readonly lastExit: {
    readonly code: number | null;
    readonly signal: string | null;
    readonly at: string;
    readonly upMs: number;
    readonly error: string | null;
  } | null;
  /** CPU used, in cores, over the last sample; resident memory. */
  readonly cpu: number;
  readonly memoryBytes: number;
  readonly message: string;
}

/** Digest of what an instance of `version` is started from: a change restarts it. */
export function runtimeHash(spec: EngineSpec, version: string): string {
  const rt = spec.runtime;
  return createHash('sha256')
    .update(JSON.stringify([rt?.command, rt?.args, rt?.env, rt?.cwd, rt?.host, version]))
    .digest('hex')
    .slice(0, 16);
}

/** `{port}`, `{id}`, `{engine}` and `{version}` in a command or argument become the instance's values. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{(port|id|engine|version)\}/g, (m, name: string) => vars[name] ?? m);
}

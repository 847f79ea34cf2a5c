import { readFileSync } from 'node:fs';

/** Linux's USER_HZ and page size: fixed at 100 and 4096 on every architecture Node runs on there. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

export interface ProcessStat {
  /** CPU time used so far, user and system. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  /** Start time in clock ticks after boot: with the pid, names one process across pid reuse. */
  readonly startTicks: number;
}

/** A process's CPU, memory and start time from /proc (Linux); undefined when it is gone or elsewhere. */
export function readProcessStat(pid: number): ProcessStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') return undefined;
    return {
      cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND,
      startTicks: Number(f[19]),
      rssBytes: Number(f[21]) * PAGE_BYTES,
    };
  } catch {
    return undefined;
  }
}

/** Whether a process with this pid runs (and, when given, started at `startTicks`: not a reused pid). */
export function processAlive(pid: number, startTicks?: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (startTicks === undefined) return true;
  const stat = readProcessStat(pid);
  return stat === undefined ? process.platform !== 'linux' : stat.startTicks === startTicks;
}

/** CPU use as a share of one core between two samples. */
export function cpuShare(prev: ProcessStat, next: ProcessStat, elapsedMs: number): number {
  if (elapsedMs <= 0) return 0;
  return Math.max(0, (next.cpuSeconds - prev.cpuSeconds) / (elapsedMs / 1000));
}

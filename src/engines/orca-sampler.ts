import * as grpc from '@grpc/grpc-js';
import { totalmem } from 'node:os';
import { encodeOrca, ORCA_TRAILER } from '../model/orca';

/**
 * The instance's own load as ORCA reports (gRFC A51) for the `endpoint-load-metrics-bin` trailer: CPU
 * (this process's CPU time per wall second, so one busy core is 1) and memory (resident set over the
 * host's memory). At most one report every `everyMs`: trailers that repeat byte for byte cost a router
 * nothing to read, and load does not change per call.
 */
export class OrcaSampler {
  private lastAtMs = 0;
  private lastCpu = process.cpuUsage();
  private lastWallMs = performance.now();

  constructor(
    private readonly everyMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Trailing metadata with a fresh report when one is due, else undefined. */
  trailer(): grpc.Metadata | undefined {
    const now = this.now();
    if (now - this.lastAtMs < this.everyMs) return undefined;
    this.lastAtMs = now;
    const metadata = new grpc.Metadata();
    metadata.set(ORCA_TRAILER, encodeOrca(this.sample()));
    return metadata;
  }

  sample(): { cpuUtilization: number; memUtilization: number } {
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const usedMs = (cpu.user - this.lastCpu.user + cpu.system - this.lastCpu.system) / 1000;
    const elapsed = Math.max(1, wall - this.lastWallMs);
    this.lastCpu = cpu;
    this.lastWallMs = wall;
    return {
      cpuUtilization: Math.round((usedMs / elapsed) * 1e4) / 1e4,
      memUtilization: Math.round((process.memoryUsage.rss() / totalmem()) * 1e6) / 1e6,
    };
  }
}

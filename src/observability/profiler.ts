import { Session } from 'node:inspector/promises';

/**
 * On-demand CPU profiles and heap snapshots of this process through V8's inspector protocol
 * (node:inspector), for the admin API. One at a time per process: a second request while one runs is
 * refused (`busy`), since both stall or slow the process they measure.
 */
export class Profiler {
  private running: string | undefined;

  /** What runs now ('cpu profile' or 'heap snapshot'), if anything. */
  get busy(): string | undefined {
    return this.running;
  }

  /** A CPU profile over `durationMs`: the `.cpuprofile` JSON Chrome DevTools and speedscope open. */
  async cpuProfile(durationMs: number, samplingIntervalUs = 1000): Promise<string> {
    return this.exclusive('cpu profile', async (session) => {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
      await session.post('Profiler.start');
      await new Promise((resolve) => setTimeout(resolve, durationMs));
      const { profile } = await session.post('Profiler.stop');
      await session.post('Profiler.disable');
      return JSON.stringify(profile);
    });
  }

  /**
   * A heap snapshot, handed to `write` in the chunks V8 produces (a snapshot is tens of MB: it is
   * streamed, not built in memory). The process stops while V8 walks the heap.
   */
  async heapSnapshot(write: (chunk: string) => void): Promise<void> {
    await this.exclusive('heap snapshot', async (session) => {
      session.on('HeapProfiler.addHeapSnapshotChunk', (m) => write(m.params.chunk));
      await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    });
  }

  private async exclusive<T>(what: string, run: (session: Session) => Promise<T>): Promise<T> {
    if (this.running)
      throw new ProfilerBusyError(`a ${this.running} is being taken; try again when it is done`);
    this.running = what;
    const session = new Session();
    session.connect();
    try {
      return await run(session);
    } finally {
      session.disconnect();
      this.running = undefined;
    }
  }
}

export class ProfilerBusyError extends Error {}

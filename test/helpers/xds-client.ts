import { internals } from './internals';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { waitFor } from './wait';

/** Drives a proxyless gRPC client process (test/helpers/xds-probe.ts) that calls `xds:///<engine>`. */
export class XdsProbe {
  private next = 0;
  private readonly waiting = new Map<number, (results: string[]) => void>();

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  /** Starts the probe with a bootstrap JSON text (e.g. from GET /api/v1/nerve/xds/bootstrap). */
  static async start(bootstrap: string): Promise<XdsProbe> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'xds-probe.ts')], {
      env: { ...process.env, NERVE_XDS_BOOTSTRAP: bootstrap },
    });
    const probe = new XdsProbe(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`xds probe exited with ${code}: ${stderr}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const msg = JSON.parse(line) as { ready?: boolean; id?: number; results?: string[] };
        if (msg.ready) resolve();
        else probe.waiting.get(msg.id!)?.(msg.results!);
      });
    });
    await ready;
    return probe;
  }

  /** Makes calls (one per session key, or n without one) and returns what each answered. */
  calls(
    engine: string,
    options: { n?: number; sessions?: string[]; field?: 'instanceId' | 'version' },
  ): Promise<string[]> {
    const id = ++this.next;
    return new Promise((resolve) => {
      this.waiting.set(id, (results) => {
        this.waiting.delete(id);
        resolve(results);
      });
      this.child.stdin.write(`${JSON.stringify({ id, engine, field: 'instanceId', ...options })}\n`);
    });
  }

  async tally(
    engine: string,
    n: number,
    field: 'instanceId' | 'version' = 'instanceId',
  ): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const r of await this.calls(engine, { n, field })) counts[r] = (counts[r] ?? 0) + 1;
    return counts;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Waits until every stream of `nodeId` holds and has ACKed everything its subscriptions select from the served snapshot. */
export async function waitForAck(
  cp: ControlPlane,
  nodeId: string,
  what = 'the xDS client to ACK the latest config',
): Promise<void> {
  await cp.flush();
  const lagging = () =>
    (
      internals(cp)
        .ads.clients()
        .find((c) => c.nodeId === nodeId)?.types ?? []
    ).filter((t) => !t.inSync);
  try {
    await waitFor(
      () =>
        internals(cp)
          .ads.clients()
          .some((c) => c.nodeId === nodeId) && lagging().length === 0,
      what,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; out of sync: ${JSON.stringify(lagging())}`, { cause: err });
  }
}

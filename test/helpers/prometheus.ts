import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { waitFor } from './wait';

/** True when this machine has the Prometheus server (CI installs Debian's prometheus). */
export function hasPrometheus(): boolean {
  try {
    execFileSync('prometheus', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface TestPrometheus {
  readonly url: string;
  /** An instant query's first sample, or undefined when it returns nothing. */
  value(query: string): Promise<number | undefined>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus of the test's own on a free loopback port, scraping `targets` (job → host:port)
 * every second.
 */
export async function startPrometheus(targets: Record<string, string>): Promise<TestPrometheus> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nerve-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      ...Object.entries(targets).flatMap(([job, target]) => [
        `  - job_name: ${job}`,
        '    static_configs:',
        `      - targets: ['${target}']`,
      ]),
    ].join('\n'),
  );
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4_000)));
  const value = async (query: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { data?: { result: { value: [number, string] }[] } };
    const v = body.data?.result[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  };
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`Prometheus exited: ${err}`);
      return fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
    },
    'Prometheus to be ready',
    20_000,
  );
  return {
    url,
    value,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';
import { startReadyDaemon } from './ready-daemon';

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
  const value = async (query: string) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { data?: { result: { value: [number, string] }[] } };
    const v = body.data?.result[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  };
  const daemon = await startReadyDaemon(
    'Prometheus',
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    url,
    dir,
  );
  return {
    url,
    value,
    stop: () => daemon.stop(),
  };
}

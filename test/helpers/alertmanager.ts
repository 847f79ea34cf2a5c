import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './ports';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReadyDaemon } from './ready-daemon';

/** Debian names it prometheus-alertmanager; upstream's binary is alertmanager. */
const BINARIES = ['prometheus-alertmanager', 'alertmanager'];

function binary(): string | undefined {
  for (const b of BINARIES)
    try {
      execFileSync(b, ['--version'], { stdio: 'ignore' });
      return b;
    } catch {
      // not this one
    }
  return undefined;
}

const found = binary();

/** True when this machine has Alertmanager (CI installs Debian's prometheus-alertmanager). */
export function hasAlertmanager(): boolean {
  return found !== undefined;
}

/** One alert as Alertmanager's `GET /api/v2/alerts` lists it. */
export interface ListedAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly status: { readonly state: string };
}

export interface TestAlertmanager {
  readonly url: string;
  /** Alerts it holds (active ones unless `query` says otherwise, e.g. `active=false`). */
  alerts(query?: string): Promise<ListedAlert[]>;
  stop(): Promise<void>;
}

/**
 * A real Alertmanager of the test's own: a free loopback port, no cluster, a config whose one receiver
 * sends nowhere (the test reads what it holds over its API).
 */
export async function startAlertmanager(): Promise<TestAlertmanager> {
  if (!found) throw new Error('Alertmanager is not installed');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nerve-alertmanager-'));
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(config, 'route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n');
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startReadyDaemon(
    'Alertmanager',
    found,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    url,
    dir,
  );
  return {
    url,
    alerts: async (query = '') =>
      (await (await fetch(`${url}/api/v2/alerts${query ? `?${query}` : ''}`)).json()) as ListedAlert[],
    stop: () => daemon.stop(),
  };
}

/** True when this machine has amtool (Debian's prometheus-alertmanager brings it). */
export function hasAmtool(): boolean {
  try {
    execFileSync('amtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `amtool check-config` on a configuration text: '' when it passes, else what amtool said. */
export function amtoolCheck(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nerve-amtool-'));
  const file = join(dir, 'alertmanager.yml');
  writeFileSync(file, yaml);
  try {
    execFileSync('amtool', ['check-config', file], { stdio: 'pipe' });
    return '';
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    return `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim() || String(err);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

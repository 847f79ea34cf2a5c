import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../common/options';
import { apiBase, call } from '../common/rest';

/**
 * `nerve alerts import-alertmanager FILE [--dry-run]`: an Alertmanager configuration into Nerve's
 * (channels, routing tree, inhibit rules, time intervals), printing each change and what could not come
 * along. `nerve alerts export-alertmanager [--out FILE]`: the other way.
 */
export async function alertsCommand(args: string[]): Promise<void> {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        args,
        allowPositionals: true,
        options: { api: { type: 'string' }, out: { type: 'string' }, 'dry-run': { type: 'boolean' } },
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  })();
  const api = apiBase(values.api);
  const [action, file] = positionals;
  if (action === 'import-alertmanager') {
    if (!file) throw new UsageError('nerve alerts import-alertmanager FILE [--dry-run]: which file?');
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
    const dryRun = values['dry-run'] === true;
    const result = (await call(
      api,
      'POST',
      `/alerting/alertmanager-config${dryRun ? '?dryRun=true' : ''}`,
      text,
      'application/yaml',
    )) as {
      version: number;
      changes: { kind: string; name: string; change: string }[];
      notes: string[];
    };
    for (const c of result.changes) console.log(`${c.change.padEnd(9)} ${c.kind}/${c.name}`);
    for (const n of result.notes) console.log(`note: ${n}`);
    const changed = result.changes.filter((c) => c.change !== 'unchanged').length;
    console.log(
      dryRun
        ? `dry run: readable, ${changed} change(s) would be applied, ${result.notes.length} note(s)`
        : `imported as version ${result.version} (${changed} change(s), ${result.notes.length} note(s))`,
    );
  } else if (action === 'export-alertmanager') {
    const res = await fetch(`${api}/alerting/config?format=alertmanager`).catch((err: Error) => {
      throw new Error(`cannot reach the control plane at ${api}: ${err.message} (set --api or NERVE_API)`);
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${res.status}: ${text.slice(0, 500)}`);
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
  } else {
    throw new UsageError(
      'usage: nerve alerts import-alertmanager FILE [--dry-run] | export-alertmanager [--out FILE] (nerve alerts --help)',
    );
  }
}
